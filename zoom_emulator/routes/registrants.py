"""Emulator routes: registrants (add, list, status, delete) of meetings and, through
:func:`add_registrant_routes`, of webinars; a meeting's registration questions.

Thin: each parses its request, calls :mod:`zoom_emulator.models.registrants` (the add:
:func:`zoom_emulator.models.meetings.register`) and serialises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from zoom_emulator.models import registrants
from zoom_emulator.models.inputs import RegistrantIn, RegistrantStatusIn, RegistrationQuestionsIn
from zoom_emulator.models.meetings import Meeting, Occurring, register
from zoom_emulator.models.paging import paginate
from zoom_emulator.routes.auth import state_of
from zoom_emulator.routes.meetings import meeting_for, read_body

router = APIRouter()

Status = Literal["pending", "approved", "denied"]
Finder = Callable[[str], Callable[..., Awaitable[Occurring]]]


def add_registrant_routes(target: APIRouter, kind: str, placeholder: str, found: Finder) -> None:
    """Add the registrant routes of a ``kind`` (``meeting`` or ``webinar``) to ``target``:
    ``POST`` and ``GET /{kind}s/{placeholder}/registrants``, ``PUT …/status`` and ``DELETE
    …/{registrantId}``. ``found(operation)`` is the dependency that checks the caller for an
    operation (``add_meeting_registrant``…) and finds the meeting or webinar."""
    base = f"/{kind}s/{{{placeholder}}}/registrants"

    async def add(
        request: Request,
        occurrence_ids: str | None = Query(None),
        record: Occurring = Depends(found(f"add_{kind}_registrant")),
    ) -> dict[str, Any]:
        """Register someone (registration must be on)."""
        record.check_registration_open()
        return register(record, await read_body(request, RegistrantIn), occurrence_ids)

    async def listing(
        request: Request,
        status: Status = Query("approved"),
        occurrence_id: str | None = Query(None),
        page_size: int | None = Query(None),
        next_page_token: str | None = Query(None),
        record: Occurring = Depends(found(f"list_{kind}_registrants")),
    ) -> dict[str, Any]:
        """Registrants with one ``status``, paginated."""
        found_now = registrants.registrants_of(record, status, occurrence_id)
        key = f"{kind}-registrants:{record.id}:{status}:{occurrence_id}"
        page, fields = paginate(state_of(request), key, found_now, page_size, next_page_token)
        return {**fields, "registrants": page}

    async def change_status(
        request: Request, record: Occurring = Depends(found(f"update_{kind}_registrant_status"))
    ) -> Response:
        """Approve, deny or cancel up to 30 (an ``occurrence_id`` is ignored: a registrant has
        one status)."""
        registrants.set_status(record, await read_body(request, RegistrantStatusIn))
        return Response(status_code=204)

    async def delete(
        registrantId: str,
        record: Occurring = Depends(found(f"delete_{kind}_registrant")),
        occurrence_id: str | None = Query(None),
    ) -> Response:
        """Delete a registrant: 204 without a body."""
        registrants.delete(record, registrantId, occurrence_id)
        return Response(status_code=204)

    routes: list[tuple[str, str, Callable[..., Any], int, str]] = [
        ("", "POST", add, 201, f"add_{kind}_registrant"),
        ("", "GET", listing, 200, f"list_{kind}_registrants"),
        ("/status", "PUT", change_status, 204, f"update_{kind}_registrant_status"),
        ("/{registrantId}", "DELETE", delete, 204, f"delete_{kind}_registrant"),
    ]
    for suffix, method, endpoint, status, name in routes:
        target.add_api_route(
            base + suffix, endpoint, methods=[method], status_code=status, name=name
        )


add_registrant_routes(router, "meeting", "meetingId", meeting_for)


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
