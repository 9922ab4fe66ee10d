"""Prefect tasks for a meeting's registrants: list, approve/deny/cancel, delete, and the
registration form's questions. (Adding a registrant is
:func:`prefect_zoom.tasks.meetings.add_meeting_registrant`.)

Every call needs registration on for the meeting (``settings.approval_type`` 0 or 1); otherwise
Zoom answers 404 code 404, raised as ``ZoomNotFoundError`` whose hint says how to turn it on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Task

from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.client.calls import call, call_json
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.models import (
    MeetingRegistrant,
    RegistrantAction,
    RegistrantStatus,
    RegistrationQuestions,
    parse_input,
)
from prefect_zoom.tasks._common import CredentialsLike, client_for, run_logger, zoom_task
from prefect_zoom.tasks._registration import (
    change_status,
    check_registrant_id,
    delete_registrant,
    list_registrants,
)
from prefect_zoom.tasks.meetings import check_meeting_id

P = ParamSpec("P")
R = TypeVar("R")


def _registrant_task(operation: str) -> Callable[[Callable[P, R]], Task[P, R]]:
    """The decorator of these tasks: named after their operation ("Zoom: list meeting …")."""
    return zoom_task(operation, name=f"Zoom: {operation.replace('_', ' ')}", tags=("meetings",))


@_registrant_task("list_meeting_registrants")
def list_meeting_registrants(
    credentials: CredentialsLike,
    meeting_id: int,
    status: RegistrantStatus = "approved",
    *,
    occurrence_id: str | None = None,
    page_size: int = 300,
) -> list[MeetingRegistrant]:
    """List a meeting's registrants with one ``status`` (approved, pending or denied), every page.

    With ``occurrence_id``, only those of that occurrence of a recurring meeting. Needs
    `meeting:read` (classic) or `meeting:read:list_registrants` (granular).
    """
    listing = OPERATIONS["list_meeting_registrants"].bind(meeting_id=check_meeting_id(meeting_id))
    return list_registrants(
        credentials, listing, status, occurrence_id, page_size, MeetingRegistrant
    )


@_registrant_task("update_meeting_registrant_status")
def update_meeting_registrant_status(
    credentials: CredentialsLike,
    meeting_id: int,
    action: RegistrantAction,
    registrants: list[str],
    *,
    occurrence_id: str | None = None,
) -> int:
    """Approve, deny or cancel registrants (ids or emails), 30 to a request as Zoom allows.

    ``cancel`` withdraws an approved registration. Safe to retry: setting a status a registrant
    already has changes nothing, so a repeated batch has the effect of one. Needs `meeting:write`
    (classic) or `meeting:update:registrant_status` (granular). Returns how many were named.
    """
    meeting_id = check_meeting_id(meeting_id)
    change = OPERATIONS["update_meeting_registrant_status"].bind(meeting_id=meeting_id)
    return change_status(credentials, change, action, registrants, occurrence_id)


@_registrant_task("delete_meeting_registrant")
def delete_meeting_registrant(
    credentials: CredentialsLike,
    meeting_id: int,
    registrant_id: str,
    *,
    occurrence_id: str | None = None,
    missing_ok: bool = False,
) -> bool:
    """Delete a registrant (with ``occurrence_id``, from that occurrence only).

    Zoom answers an unknown registrant id with 400 code 300; with ``missing_ok`` that counts as
    already deleted (a retry after a lost answer, say) and the task returns ``False``. Needs
    `meeting:write` (classic) or `meeting:delete:registrant` (granular).
    """
    delete = OPERATIONS["delete_meeting_registrant"].bind(
        meeting_id=check_meeting_id(meeting_id), registrant_id=check_registrant_id(registrant_id)
    )
    return delete_registrant(credentials, delete, occurrence_id, missing_ok)


@_registrant_task("get_meeting_registration_questions")
def get_meeting_registration_questions(
    credentials: CredentialsLike, meeting_id: int
) -> RegistrationQuestions:
    """Get the questions a meeting's registration form asks: standard fields and custom ones.

    Needs `meeting:read` (classic) or `meeting:read:list_registration_questions` (granular).
    """
    meeting_id = check_meeting_id(meeting_id)
    questions = OPERATIONS["get_meeting_registration_questions"].bind(meeting_id=meeting_id)
    with client_for(credentials) as zoom:
        data = call_json(zoom, questions)
    run_logger().info("Got the registration questions of Zoom meeting %s", meeting_id)
    return RegistrationQuestions.model_validate(data or {})


@_registrant_task("update_meeting_registration_questions")
def update_meeting_registration_questions(
    credentials: CredentialsLike,
    meeting_id: int,
    questions: RegistrationQuestions | dict[str, Any],
) -> None:
    """Set a meeting's registration questions: ``questions`` (standard fields such as ``city``,
    each ``required`` or not) and ``custom_questions`` (``short``, or ``single`` with ``answers``).

    A list you send replaces Zoom's; one you leave out stays. Sending the same twice has the
    effect of once, so retries are safe. Needs `meeting:write` (classic) or
    `meeting:update:registration_questions` (granular).
    """
    meeting_id = check_meeting_id(meeting_id)
    form = parse_input(RegistrationQuestions, questions, prefix="questions")
    if form.questions is None and form.custom_questions is None:
        raise ZoomInputError(
            "questions",
            "neither questions nor custom_questions given",
            "Pass at least one of the two lists (an empty list clears it); nothing was sent.",
        )
    update = OPERATIONS["update_meeting_registration_questions"].bind(meeting_id=meeting_id)
    with client_for(credentials) as zoom:
        call(zoom, update, json=form.to_zoom(), expected=(204, 200))
    run_logger().info("Updated the registration questions of Zoom meeting %s", meeting_id)


__all__ = [
    "delete_meeting_registrant",
    "get_meeting_registration_questions",
    "list_meeting_registrants",
    "update_meeting_registrant_status",
    "update_meeting_registration_questions",
]
