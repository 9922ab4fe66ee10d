"""Emulator routes: webinars (schedule, list, get, update, delete), their registrants (add,
list, status, delete: the meetings' routes, from
:func:`zoom_emulator.routes.registrants.add_registrant_routes`), and held webinars' participants
and absentees.

Thin: each parses its request, calls :mod:`zoom_emulator.models.webinars` and serialises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response

from zoom_emulator.models import webinars
from zoom_emulator.models.access import Caller, resolve_user
from zoom_emulator.models.inputs import WebinarIn
from zoom_emulator.models.meetings import host_for_schedule
from zoom_emulator.models.operations import operations
from zoom_emulator.models.paging import paginate
from zoom_emulator.models.recordings import decode_meeting_ref
from zoom_emulator.models.webinars import PastWebinar, Webinar
from zoom_emulator.routes.auth import caller_for, state_of
from zoom_emulator.routes.meetings import found_by, read_body
from zoom_emulator.routes.recordings import raw_meeting_ref
from zoom_emulator.routes.registrants import add_registrant_routes

router = APIRouter()


def webinar_for(operation_name: str) -> Callable[..., Awaitable[Webinar]]:
    """A FastAPI dependency: the caller's checks for the operation, then its ``{webinarId}``."""
    return found_by(operation_name, webinars.find_webinar, "webinarId")


def held_for(operation_name: str) -> Callable[..., Awaitable[PastWebinar]]:
    """A FastAPI dependency: the caller's checks, then the held webinar ``{webinarId}`` names
    (an id, or an instance UUID encoded once or, with ``/``, twice)."""
    operation = operations()[operation_name]

    async def dependency(
        request: Request, caller: Caller = Depends(caller_for(operation_name))
    ) -> PastWebinar:
        raw = raw_meeting_ref(request, 1, collection="past_webinars", placeholder="webinarId")
        ref = decode_meeting_ref(raw)
        return webinars.find_held(state_of(request), caller, ref, operation)

    return dependency


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
    """``POST /users/{userId}/webinars``: schedule a one-time or recurring webinar."""
    state = state_of(request)
    host = resolve_user(
        state, caller, userId, operations()["create_webinar"], foreign_as_not_found=True
    )
    body = await read_body(request, WebinarIn)
    webinar = webinars.build_webinar(state, host_for_schedule(state, caller, body, host), body)
    state.webinars[webinar.id] = webinar
    return webinar.as_zoom()


@router.get("/webinars/{webinarId}")
async def get_webinar(
    occurrence_id: str | None = Query(None),
    webinar: Webinar = Depends(webinar_for("get_webinar")),
) -> dict[str, Any]:
    """``GET /webinars/{webinarId}``: the stored webinar (one occurrence's time when asked)."""
    return webinar.answer_at(webinar.as_zoom(), occurrence_id)


@router.patch("/webinars/{webinarId}", status_code=204)
async def update_webinar(
    request: Request,
    occurrence_id: str | None = Query(None),
    stored: Webinar = Depends(webinar_for("update_webinar")),
) -> Response:
    """``PATCH /webinars/{webinarId}``: 204 without a body."""
    body = await read_body(request, WebinarIn)
    webinar = webinars.updated(stored, body, occurrence_id)
    state_of(request).webinars[webinar.id] = webinar
    return Response(status_code=204)


@router.delete("/webinars/{webinarId}", status_code=204)
async def delete_webinar(
    request: Request,
    occurrence_id: str | None = Query(None),
    webinar: Webinar = Depends(webinar_for("delete_webinar")),
) -> Response:
    """``DELETE /webinars/{webinarId}``: 204 without a body (``cancel_webinar_reminder`` e-mails
    nobody here)."""
    webinars.delete(webinar, state_of(request), occurrence_id)
    return Response(status_code=204)


add_registrant_routes(router, "webinar", "webinarId", webinar_for)


# ---- held webinars ------------------------------------------------------------------------------
Route = TypeVar("Route", bound=Callable[..., Any])


def _held_route(suffix: str) -> Callable[[Route], Route]:
    """Register ``GET /past_webinars/{webinarId}/suffix`` twice: as usual, then with a
    ``{webinarId}`` that may hold ``/`` (a singly encoded UUID arrives decoded), so such a
    request reaches the handler, which reads the raw path."""

    def register(handler: Route) -> Route:
        for placeholder, listed in (("{webinarId}", True), ("{webinarId:path}", False)):
            path = f"/past_webinars/{placeholder}/{suffix}"
            router.add_api_route(path, handler, methods=["GET"], include_in_schema=listed)
        return handler

    return register


@_held_route("participants")
async def list_past_webinar_participants(
    request: Request,
    page_size: int | None = Query(None),
    next_page_token: str | None = Query(None),
    held: PastWebinar = Depends(held_for("list_past_webinar_participants")),
) -> dict[str, Any]:
    """``GET /past_webinars/{webinarId}/participants``: who joined, paginated."""
    key = f"webinar-participants:{held.uuid}"
    page, fields = paginate(state_of(request), key, held.participants, page_size, next_page_token)
    return {**fields, "participants": page}


@_held_route("absentees")
async def list_webinar_absentees(
    request: Request,
    occurrence_id: str | None = Query(None),
    page_size: int | None = Query(None),
    next_page_token: str | None = Query(None),
    held: PastWebinar = Depends(held_for("list_webinar_absentees")),
) -> dict[str, Any]:
    """``GET /past_webinars/{webinarId}/absentees``: registrants who did not join, paginated."""
    found = webinars.absentees(held)
    key = f"webinar-absentees:{held.uuid}"
    page, fields = paginate(state_of(request), key, found, page_size, next_page_token)
    return {**fields, "registrants": page}
