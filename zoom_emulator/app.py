"""The emulator as one ASGI app: ``/oauth/*``, ``/v2/*``, ``/rec/*`` and the ``/_emulator/`` controls."""

from __future__ import annotations

import random

from fastapi import FastAPI

from zoom_emulator import control
from zoom_emulator.config import EmulatorConfig
from zoom_emulator.faults import CounterMiddleware, FaultMiddleware
from zoom_emulator.models.ratelimit import RateLimiter
from zoom_emulator.models.state import EmulatorState, build_state
from zoom_emulator.routes import (
    downloads,
    meetings,
    oauth,
    past_meetings,
    recordings,
    registrants,
    users,
    webinars,
)
from zoom_emulator.routes.errors import install_error_handlers


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
    # Routes are matched in order: the file downloads, many per run, go first (their paths share
    # nothing with the others, so the order changes no answer).
    app.include_router(downloads.router)
    app.include_router(oauth.router, prefix="/oauth")
    app.include_router(users.router, prefix="/v2")
    app.include_router(meetings.router, prefix="/v2")
    app.include_router(registrants.router, prefix="/v2")
    app.include_router(webinars.router, prefix="/v2")
    app.include_router(recordings.router, prefix="/v2")
    app.include_router(past_meetings.router, prefix="/v2")
    app.include_router(control.router, prefix="/_emulator")
    app.add_middleware(FaultMiddleware, state=state, dice=random.Random(state.config.faults.seed))
    app.add_middleware(CounterMiddleware, state=state, prefixes=("/v2", "/oauth"))
    return app
