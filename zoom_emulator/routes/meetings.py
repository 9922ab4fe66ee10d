"""Emulator routes: meetings, their invite links, invitation text and registrants.

Thin: each parses its request, calls :mod:`zoom_emulator.models.meetings` and serialises. Bodies
are checked as Zoom checks them (:mod:`zoom_emulator.models.inputs`): any bad field answers HTTP
400 code 300 "Validation Failed." with ``errors: [{"field", "message"}]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ValidationError

from zoom_emulator.models import meetings
from zoom_emulator.models.access import Caller, resolve_user
from zoom_emulator.models.errors import validation_failed
from zoom_emulator.models.inputs import InviteLinksIn, MeetingIn
from zoom_emulator.models.meetings import Meeting
from zoom_emulator.models.operations import Operation, operations
from zoom_emulator.models.paging import paginate
from zoom_emulator.models.state import EmulatorState
from zoom_emulator.routes.auth import caller_for, state_of

router = APIRouter()

BAD_JSON = "Request Body should be a valid JSON object."
ListType = Literal["scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


async def read_body(request: Request, model: type[M]) -> M:
    """Parse the JSON body into ``model``; any failure is Zoom's 300 "Validation Failed."."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw if raw.strip() else b"{}")
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            if err["type"] == "json_invalid" or not err["loc"]:
                errors.append({"field": "body", "message": BAD_JSON})
                continue
            field = ".".join(str(part) for part in err["loc"])
            errors.append({"field": field, "message": err["msg"]})
        raise validation_failed(errors) from None


def found_by(
    operation_name: str,
    find: Callable[[EmulatorState, Caller, str, Operation], T],
    placeholder: str,
) -> Callable[..., Awaitable[T]]:
    """A FastAPI dependency: the caller's checks for the operation, then what ``find`` finds
    for the path's ``{placeholder}`` (a meeting by ``meetingId``, a webinar by ``webinarId``)."""
    operation = operations()[operation_name]

    async def dependency(
        request: Request, caller: Caller = Depends(caller_for(operation_name))
    ) -> T:
        return find(state_of(request), caller, request.path_params[placeholder], operation)

    return dependency


def meeting_for(operation_name: str) -> Callable[..., Awaitable[Meeting]]:
    """A FastAPI dependency: the caller's checks for the operation, then its ``{meetingId}``."""
    return found_by(operation_name, meetings.find_meeting, "meetingId")


@router.post("/users/{userId}/meetings", status_code=201)
async def create_meeting(
    userId: str,
    request: Request,
    caller: Caller = Depends(caller_for("create_meeting")),
) -> dict[str, Any]:
    """``POST /users/{userId}/meetings``: schedule a meeting (counts toward the host's 100/day)."""
    state = state_of(request)
    operation = operations()["create_meeting"]
    host = resolve_user(state, caller, userId, operation, foreign_as_not_found=True)
    body = await read_body(request, MeetingIn)
    host = meetings.host_for_schedule(state, caller, body, host)
    meeting = meetings.build_meeting(state, host, body)
    request.app.state.rate_limiter.count_meeting_write(host.id)  # valid requests count
    state.meetings[meeting.id] = meeting
    return meeting.as_zoom()


@router.get("/users/{userId}/meetings")
async def list_meetings(
    userId: str,
    request: Request,
    type: ListType = Query("scheduled"),
    page_size: int | None = Query(None),
    next_page_token: str | None = Query(None),
    from_: date | None = Query(None, alias="from"),
    to: date | None = Query(None),
    caller: Caller = Depends(caller_for("list_meetings")),
) -> dict[str, Any]:
    """``GET /users/{userId}/meetings``: a host's meetings by ``type``, paginated."""
    state = state_of(request)
    operation = operations()["list_meetings"]
    host = resolve_user(state, caller, userId, operation, foreign_as_not_found=True)
    first, last = (day.isoformat() if day else None for day in (from_, to))
    listed = meetings.list_meetings(state, host, type, first, last)
    key = f"meetings:{host.id}:{type}:{from_}:{to}"
    page, fields = paginate(state, key, listed, page_size, next_page_token)
    return {**fields, "meetings": page}


@router.get("/meetings/{meetingId}")
async def get_meeting(
    occurrence_id: str | None = Query(None),
    show_previous_occurrences: bool | None = Query(None),
    meeting: Meeting = Depends(meeting_for("get_meeting")),
) -> dict[str, Any]:
    """``GET /meetings/{meetingId}``: the stored meeting (one occurrence's time when asked)."""
    return meeting.answer_at(meeting.as_zoom(), occurrence_id)


@router.patch("/meetings/{meetingId}", status_code=204)
async def update_meeting(
    request: Request,
    occurrence_id: str | None = Query(None),
    stored: Meeting = Depends(meeting_for("update_meeting")),
) -> Response:
    """``PATCH /meetings/{meetingId}``: 204 without a body (counts toward the host's 100/day)."""
    body = await read_body(request, MeetingIn)
    meeting = meetings.updated(stored, body, occurrence_id)
    request.app.state.rate_limiter.count_meeting_write(meeting.host_id)
    state_of(request).meetings[meeting.id] = meeting
    return Response(status_code=204)


@router.delete("/meetings/{meetingId}", status_code=204)
async def delete_meeting(
    request: Request,
    occurrence_id: str | None = Query(None),
    schedule_for_reminder: bool | None = Query(None),
    cancel_meeting_reminder: bool | None = Query(None),
    meeting: Meeting = Depends(meeting_for("delete_meeting")),
) -> Response:
    """``DELETE /meetings/{meetingId}``: the meeting, or with ``occurrence_id`` one occurrence."""
    meetings.delete(state_of(request), meeting, occurrence_id)
    return Response(status_code=204)


@router.post("/meetings/{meetingId}/invite_links", status_code=201)
async def create_invite_links(
    request: Request, meeting: Meeting = Depends(meeting_for("create_invite_links"))
) -> dict[str, Any]:
    """``POST /meetings/{meetingId}/invite_links``: one join link per named attendee."""
    body = await read_body(request, InviteLinksIn)
    return {"attendees": meetings.invite_links(meeting, body)}


@router.get("/meetings/{meetingId}/invitation")
async def get_meeting_invitation(
    request: Request, meeting: Meeting = Depends(meeting_for("get_meeting_invitation"))
) -> dict[str, Any]:
    """``GET /meetings/{meetingId}/invitation``: the invitation text."""
    return {"invitation": meetings.invitation_text(state_of(request), meeting)}
