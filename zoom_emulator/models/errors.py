"""Zoom's error answers: ``{"code", "message"[, "errors"]}`` with an ``x-zm-trackingid`` header."""

from __future__ import annotations

import uuid
from typing import Any


def tracking_id() -> str:
    """A fresh tracking id, shaped like Zoom's."""
    return f"v=2.0;clid=us06;rid=WEB_{uuid.uuid4().hex}"


class ZoomError(Exception):
    """Raise inside a route to answer as Zoom does."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class OAuthError(Exception):
    """Raise inside an OAuth route: Zoom answers ``{"reason", "error"}`` there."""

    def __init__(self, status: int, error: str, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason
        self.code = code

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": self.reason, "error": self.error}
        if self.code is not None:
            body["code"] = self.code
        return body


def validation_failed(errors: list[dict[str, str]]) -> ZoomError:
    """Zoom's 300 "Validation Failed." with one entry per bad field."""
    return ZoomError(400, 300, "Validation Failed.", errors=errors)


def meeting_not_found(meeting_id: object) -> ZoomError:
    return ZoomError(404, 3001, f"Meeting does not exist: {meeting_id}.")


def user_not_found(user_id: object) -> ZoomError:
    return ZoomError(404, 1001, f"User does not exist: {user_id}.")
