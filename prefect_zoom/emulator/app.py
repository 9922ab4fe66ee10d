"""The emulator as one ASGI app: ``/oauth/*``, ``/v2/*``, ``/rec/*`` and the ``/_emulator/`` controls."""

from __future__ import annotations

import random

from fastapi import FastAPI

from prefect_zoom.emulator import control, downloads, meetings, oauth, recordings, users
from prefect_zoom.emulator.config import EmulatorConfig
from prefect_zoom.emulator.errors import install_error_handlers
from prefect_zoom.emulator.faults import CounterMiddleware, FaultMiddleware
from prefect_zoom.emulator.ratelimit import RateLimiter
from prefect_zoom.emulator.state import EmulatorState, build_state


def create_app(
    config: EmulatorConfig | None = None, *, state: EmulatorState | None = None
) -> FastAPI:
    """Build an emulator app from a config (or around an existing state)."""
    state = state or build_state(config or EmulatorConfig())
    app = FastAPI(
        title="prefect-zoom Zoom emulator",
        description="A local Zoom for tests and demos: OAuth, REST v2, recordings, limits and faults.",
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
    )
    app.state.zoom = state
    app.state.rate_limiter = RateLimiter(state)
    install_error_handlers(app)
    app.include_router(oauth.router, prefix="/oauth")
    app.include_router(users.router, prefix="/v2")
    app.include_router(meetings.router, prefix="/v2")
    app.include_router(recordings.router, prefix="/v2")
    app.include_router(downloads.router)
    app.include_router(control.router, prefix="/_emulator")
    app.add_middleware(FaultMiddleware, state=state, dice=random.Random(state.config.faults.seed))
    app.add_middleware(CounterMiddleware, state=state, prefixes=("/v2", "/oauth"))
    return app
