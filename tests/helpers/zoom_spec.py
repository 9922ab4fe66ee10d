"""Checks an emulator answer against the schema of its operation in Zoom's OpenAPI spec."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import httpx
from openapi_schema_validator import OAS30Validator

from zoom_emulator.models.operations import load_spec


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """Zoom's OpenAPI spec, as vendored in ``zoom_emulator/spec/``."""
    return load_spec()


def response_schema(method: str, path_template: str, status: int) -> dict[str, Any] | None:
    """The JSON schema of one operation's answer, or None when the spec gives no body for it."""
    operation = spec()["paths"][path_template][method.lower()]
    answer = operation["responses"].get(str(status))
    assert answer is not None, f"{method} {path_template} has no {status} answer in the spec"
    content = answer.get("content", {}).get("application/json")
    return content.get("schema") if content else None


def assert_matches_spec(response: httpx.Response, method: str, path_template: str) -> Any:
    """Validate the response body against the spec (template as the spec writes it, without /v2)."""
    schema = response_schema(method, path_template, response.status_code)
    if schema is None:
        assert not response.content, f"{method} {path_template} answered a body the spec lacks"
        return None
    body = response.json()
    errors = sorted(OAS30Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    return body
