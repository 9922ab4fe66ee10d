"""Emulator routes: ended meetings, their instances and participants, and the participants report.

Thin: each calls :mod:`zoom_emulator.models.past_meetings` and serialises. Meetings are held with
``POST /_emulator/past_meetings`` (:mod:`zoom_emulator.control`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from zoom_emulator.models import past_meetings
from zoom_emulator.models.access import Caller
from zoom_emulator.models.operations import operations
from zoom_emulator.models.paging import paginate
from zoom_emulator.models.past_meetings import HeldMeeting
from zoom_emulator.routes.auth import caller_for, state_of
from zoom_emulator.routes.recordings import raw_meeting_ref

router = APIRouter()
PAST, REPORT = "past_meetings", "report/meetings"  # the collections before {meetingId}


def held_for(
    operation_name: str, collection: str, suffix_segments: int
) -> Callable[..., Awaitable[HeldMeeting]]:
    """A FastAPI dependency: the caller's checks for the operation, then the instance the raw
    ``{meetingId}`` after ``/collection/`` names (read as sent: a double-encoded UUID stays intact)."""
    operation = operations()[operation_name]

    async def dependency(
        request: Request, caller: Caller = Depends(caller_for(operation_name))
    ) -> HeldMeeting:
        raw = raw_meeting_ref(request, suffix_segments, collection=collection)
        return past_meetings.find_held(state_of(request), caller, raw, operation)

    return dependency


async def _participants(
    request: Request, held: HeldMeeting, view: str, page_size: int | None, token: str | None
) -> dict[str, Any]:
    """One page of an instance's participant rows (paid plans only)."""
    state = state_of(request)
    past_meetings.check_paid_plan(state, held.account_id)
    rows = past_meetings.participants(held)
    page, fields = paginate(state, f"{view}:{held.uuid}", rows, page_size, token)
    return {**fields, "participants": page}


@router.get("/past_meetings/{meetingId}/instances")
async def list_past_meeting_instances(
    request: Request, caller: Caller = Depends(caller_for("list_past_meeting_instances"))
) -> dict[str, Any]:
    """``GET /past_meetings/{meetingId}/instances``: the ended instances, oldest first."""
    operation = operations()["list_past_meeting_instances"]
    raw = raw_meeting_ref(request, 1, collection=PAST)
    found = past_meetings.instances(state_of(request), caller, raw, operation)
    return {"meetings": found}


@router.get("/past_meetings/{meetingId}")
async def get_past_meeting(
    request: Request, held: HeldMeeting = Depends(held_for("get_past_meeting", PAST, 0))
) -> dict[str, Any]:
    """``GET /past_meetings/{meetingId}``: one ended instance (a number: its latest)."""
    state = state_of(request)
    past_meetings.check_paid_plan(state, held.account_id)
    return past_meetings.details(state, held)


@router.get("/past_meetings/{meetingId}/participants")
async def list_past_meeting_participants(
    request: Request,
    page_size: int | None = Query(None),
    next_page_token: str | None = Query(None),
    held: HeldMeeting = Depends(held_for("list_past_meeting_participants", PAST, 1)),
) -> dict[str, Any]:
    """``GET /past_meetings/{meetingId}/participants``: one row per join, paginated."""
    return await _participants(request, held, "past", page_size, next_page_token)


@router.get("/report/meetings/{meetingId}/participants")
async def report_meeting_participants(
    request: Request,
    page_size: int | None = Query(None),
    next_page_token: str | None = Query(None),
    include_fields: Literal["registrant_id"] | None = Query(None),
    held: HeldMeeting = Depends(held_for("report_meeting_participants", REPORT, 1)),
) -> dict[str, Any]:
    """``GET /report/meetings/{meetingId}/participants``: the report view (admin, paid plan)."""
    return await _participants(request, held, "report", page_size, next_page_token)


# A singly encoded UUID that holds "/" arrives decoded: these unlisted routes let it reach the
# handlers, which read the raw path as Zoom does. The details route goes last, as its pattern
# would also take the others' paths.
for _path, _handler in (
    ("/past_meetings/{meetingId:path}/instances", list_past_meeting_instances),
    ("/past_meetings/{meetingId:path}/participants", list_past_meeting_participants),
    ("/report/meetings/{meetingId:path}/participants", report_meeting_participants),
    ("/past_meetings/{meetingId:path}", get_past_meeting),
):
    router.add_api_route(_path, _handler, methods=["GET"], include_in_schema=False)
