"""Emulator routes: webinars (schedule, list, get, delete).

Thin: each parses its request, calls :mod:`zoom_emulator.models.webinars` and serialises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from zoom_emulator.models import webinars
from zoom_emulator.models.access import Caller, resolve_user
from zoom_emulator.models.inputs import WebinarIn
from zoom_emulator.models.meetings import host_for_schedule
from zoom_emulator.models.operations import operations
from zoom_emulator.models.paging import paginate
from zoom_emulator.models.webinars import Webinar
from zoom_emulator.routes.auth import caller_for, state_of
from zoom_emulator.routes.meetings import found_by, read_body

router = APIRouter()


def webinar_for(operation_name: str) -> Callable[..., Awaitable[Webinar]]:
    """A FastAPI dependency: the caller's checks for the operation, then its ``{webinarId}``."""
    return found_by(operation_name, webinars.find_webinar, "webinarId")


@router.get("/users/{userId}/webinars")
async def list_webinars(
    userId: str,
    request: Request,
    type: Literal["scheduled", "upcoming"] = Query("scheduled"),
    page_size: int | None = Query(None),
    next_page_token: str | None = Query(None),
    caller: Caller = Depends(caller_for("list_webinars")),
) -> dict[str, Any]:
    """``GET /users/{userId}/webinars``: a host's webinars, paginated."""
    state = state_of(request)
    host = resolve_user(
        state, caller, userId, operations()["list_webinars"], foreign_as_not_found=True
    )
    listed = webinars.list_webinars(state, host, type)
    page, fields = paginate(state, f"webinars:{host.id}:{type}", listed, page_size, next_page_token)
    return {**fields, "webinars": page}


@router.post("/users/{userId}/webinars", status_code=201)
async def create_webinar(
    userId: str, request: Request, caller: Caller = Depends(caller_for("create_webinar"))
) -> dict[str, Any]:
    """``POST /users/{userId}/webinars``: schedule a one-time webinar."""
    state = state_of(request)
    host = resolve_user(
        state, caller, userId, operations()["create_webinar"], foreign_as_not_found=True
    )
    body = await read_body(request, WebinarIn)
    webinar = webinars.build_webinar(state, host_for_schedule(state, caller, body, host), body)
    state.webinars[webinar.id] = webinar
    return webinar.as_zoom()


@router.get("/webinars/{webinarId}")
async def get_webinar(webinar: Webinar = Depends(webinar_for("get_webinar"))) -> dict[str, Any]:
    """``GET /webinars/{webinarId}``: the stored webinar."""
    return webinar.as_zoom()


@router.delete("/webinars/{webinarId}", status_code=204)
async def delete_webinar(
    request: Request, webinar: Webinar = Depends(webinar_for("delete_webinar"))
) -> Response:
    """``DELETE /webinars/{webinarId}``: 204 without a body (``cancel_webinar_reminder`` e-mails
    nobody here)."""
    del state_of(request).webinars[webinar.id]
    return Response(status_code=204)
