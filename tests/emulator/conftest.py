"""Helpers for emulator tests: tokens minted straight into the emulator's state, and checks of
Zoom's answers (errors by shape, a created meeting by the spec)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from helpers.zoom_spec import assert_matches_spec

from zoom_emulator import ZoomEmulator
from zoom_emulator.models.operations import all_scopes


def mint_token(
    emulator: ZoomEmulator,
    scopes: Iterable[str] | None = None,
    *,
    kind: str = "s2s",
    user_email: str | None = None,
) -> str:
    """An access token as the token endpoint would issue it, without a round trip.

    ``kind="s2s"`` acts for the account (its owner is ``me``); ``kind="oauth"`` acts for the user
    with ``user_email`` (the owner by default). Without ``scopes``, every scope the emulator knows.
    """
    scopes = all_scopes() if scopes is None else scopes
    state = emulator.state
    config = emulator.config
    if kind == "s2s":
        app = state.apps[config.s2s_client_id]
        return state.issue_access_token(app, user_id=None, scopes=list(scopes)).value
    app = state.apps[config.oauth_client_id]
    email = user_email or config.user_email
    user = next(u for u in state.users.values() if u.email == email)
    return state.issue_access_token(app, user_id=user.id, scopes=list(scopes)).value


def assert_zoom_error(
    response: httpx.Response, status: int, code: int, message: str | None = None
) -> dict[str, Any]:
    """A Zoom error answer: status, ``code``, ``message`` and a tracking id header."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    if message is not None:
        assert body["message"] == message
    assert response.headers["x-zm-trackingid"].startswith("v=2.0;")
    return body


def error_fields(response: httpx.Response) -> set[str]:
    body = assert_zoom_error(response, 400, 300, "Validation Failed.")
    return {error["field"] for error in body["errors"]}


def create(client: httpx.Client, body: dict[str, Any], user_id: str = "me") -> dict[str, Any]:
    response = client.post(f"/users/{user_id}/meetings", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = assert_matches_spec(response, "POST", "/users/{userId}/meetings")
    return created


def daily_registration_meeting(
    client: httpx.Client, occurrences: int, approval_type: int
) -> dict[str, Any]:
    """A daily meeting (from 2031-03-01 08:00 UTC) with registration on, as created."""
    body = {
        "type": 8,
        "start_time": "2031-03-01T08:00:00Z",
        "recurrence": {"type": 1, "end_times": occurrences},
        "settings": {"approval_type": approval_type},
    }
    return create(client, body)


@pytest.fixture
def auth_headers(zoom_emulator: ZoomEmulator) -> dict[str, str]:
    """Bearer headers of an S2S token with every scope."""
    return {"Authorization": f"Bearer {mint_token(zoom_emulator)}"}


def read_until(process: subprocess.Popen[str], marker: str) -> str:
    """A child's output up to the line holding ``marker``; fails if the child exits first."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{process.args!r} exited before printing {marker!r}:\n" + "".join(seen))


@pytest.fixture
def client(zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]) -> Iterator[httpx.Client]:
    """An HTTP client on ``/v2`` with an all-scopes S2S token."""
    with httpx.Client(base_url=zoom_emulator.api_url, headers=auth_headers, timeout=10) as http:
        yield http


def scoped_client(emulator: ZoomEmulator, scopes: list[str]) -> httpx.Client:
    """An HTTP client on ``/v2`` with an S2S token holding only ``scopes`` (close it)."""
    token = mint_token(emulator, scopes)
    return httpx.Client(base_url=emulator.api_url, headers={"Authorization": f"Bearer {token}"})
