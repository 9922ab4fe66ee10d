"""Every failure, FastAPI's own included, answered as Zoom answers: JSON with a tracking id."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from zoom_emulator.models.errors import OAuthError, ZoomError, tracking_id, validation_failed


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
