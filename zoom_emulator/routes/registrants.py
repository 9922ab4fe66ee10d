"""Emulator routes: a meeting's registrants (list, status, delete) and registration questions.

Thin: each parses its request, calls :mod:`zoom_emulator.models.registrants` and serialises. The
add itself (``POST /meetings/{meetingId}/registrants``) is in :mod:`zoom_emulator.routes.meetings`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from zoom_emulator.models import registrants
from zoom_emulator.models.inputs import RegistrantStatusIn, RegistrationQuestionsIn
from zoom_emulator.models.meetings import Meeting
from zoom_emulator.models.paging import paginate
from zoom_emulator.routes.auth import state_of
from zoom_emulator.routes.meetings import meeting_for, read_body

router = APIRouter()

Status = Literal["pending", "approved", "denied"]


@router.get("/meetings/{meetingId}/registrants")
async def list_meeting_registrants(
    request: Request,
    status: Status = Query("approved"),
    occurrence_id: str | None = Query(None),
    page_size: int | None = Query(None),
    next_page_token: str | None = Query(None),
    meeting: Meeting = Depends(meeting_for("list_meeting_registrants")),
) -> dict[str, Any]:
    """``GET /meetings/{meetingId}/registrants``: registrants with one ``status``, paginated."""
    found = registrants.registrants_of(meeting, status, occurrence_id)
    key = f"registrants:{meeting.id}:{status}:{occurrence_id}"
    page, fields = paginate(state_of(request), key, found, page_size, next_page_token)
    return {**fields, "registrants": page}


@router.put("/meetings/{meetingId}/registrants/status", status_code=204)
async def update_meeting_registrant_status(
    request: Request, meeting: Meeting = Depends(meeting_for("update_meeting_registrant_status"))
) -> Response:
    """``PUT /meetings/{meetingId}/registrants/status``: approve, deny or cancel up to 30
    (an ``occurrence_id`` is ignored: a registrant has one status)."""
    body = await read_body(request, RegistrantStatusIn)
    registrants.set_status(meeting, body)
    return Response(status_code=204)


@router.delete("/meetings/{meetingId}/registrants/{registrantId}", status_code=204)
async def delete_meeting_registrant(
    registrantId: str,
    meeting: Meeting = Depends(meeting_for("delete_meeting_registrant")),
    occurrence_id: str | None = Query(None),
) -> Response:
    """``DELETE /meetings/{meetingId}/registrants/{registrantId}``: 204 without a body."""
    registrants.delete(meeting, registrantId, occurrence_id)
    return Response(status_code=204)


@router.get("/meetings/{meetingId}/registrants/questions")
async def get_meeting_registration_questions(
    meeting: Meeting = Depends(meeting_for("get_meeting_registration_questions")),
) -> dict[str, Any]:
    """``GET /meetings/{meetingId}/registrants/questions``: the registration form's questions."""
    return registrants.questions(meeting)


@router.patch("/meetings/{meetingId}/registrants/questions", status_code=204)
async def update_meeting_registration_questions(
    request: Request,
    meeting: Meeting = Depends(meeting_for("update_meeting_registration_questions")),
) -> Response:
    """``PATCH /meetings/{meetingId}/registrants/questions``: 204 without a body."""
    body = await read_body(request, RegistrationQuestionsIn)
    registrants.update_questions(meeting, body)
    return Response(status_code=204)
