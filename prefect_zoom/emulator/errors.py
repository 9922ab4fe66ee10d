"""Zoom's error answers: ``{"code", "message"[, "errors"]}`` with an ``x-zm-trackingid`` header."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


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


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    all_headers = {"x-zm-trackingid": tracking_id(), **(headers or {})}
    return JSONResponse(body, status_code=status, headers=all_headers)


def install_error_handlers(app: FastAPI) -> None:
    """Make every failure, including FastAPI's own, look like Zoom's."""

    @app.exception_handler(ZoomError)
    async def _zoom_error(_: Request, exc: ZoomError) -> JSONResponse:
        return _json(exc.status, exc.body(), exc.headers)

    @app.exception_handler(OAuthError)
    async def _oauth_error(_: Request, exc: OAuthError) -> JSONResponse:
        return _json(exc.status, exc.body())

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            loc = [
                str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")
            ]
            errors.append({"field": ".".join(loc) or "body", "message": str(err.get("msg"))})
        return _json(400, validation_failed(errors).body())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _json(404, {"code": 404, "message": "Not Found"})
        if exc.status_code == 405:
            return _json(405, {"code": 405, "message": "Method Not Allowed"})
        return _json(exc.status_code, {"code": exc.status_code, "message": str(exc.detail)})

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - last resort
        return _json(500, {"code": 500, "message": f"Internal error: {type(exc).__name__}"})
