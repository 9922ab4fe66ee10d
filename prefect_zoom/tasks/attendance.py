"""Prefect tasks for meetings that were held: their instances, details and participants.

Two views of who attended: ``/past_meetings`` (``meeting:read`` scopes, the host's own
meetings with user-level scopes) and the report (``report:read:admin``, account-wide). Both list
a row per join: someone who dropped out and came back has several. Both need a paid plan: on a
free account Zoom answers 400 code 200 "Only available for paid account", raised as
``ZoomAPIError`` whose hint says so. A meeting number means its latest ended instance; pass an
instance UUID (from ``list_past_meeting_instances``) for another one. UUIDs that start with ``/``
or contain ``//`` are double-encoded for Zoom by the catalog. Every task only reads, so retries
(on transient errors) are safe. Logs name meetings and counts, never participants.
"""

from __future__ import annotations

from typing import Any

from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.client.calls import call_json, call_pages
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.models import Participant, PastMeeting, PastMeetingInstance
from prefect_zoom.tasks._common import (
    CredentialsLike,
    check_page_size,
    client_for,
    run_logger,
    zoom_task,
)
from prefect_zoom.tasks.meetings import check_meeting_id


def check_meeting_ref(value: Any, field: str = "meeting_id") -> int | str:
    """A meeting number (its latest ended instance) or a meeting instance UUID."""
    if isinstance(value, str) and not value.replace(" ", "").isdigit():
        if not value.strip() or "?" in value or "#" in value:
            raise ZoomInputError(
                field,
                f"{value!r} is not a meeting number or instance UUID",
                "Pass the meeting's number, or a UUID from list_past_meeting_instances; "
                "nothing was sent to Zoom.",
            )
        return value.strip()
    return check_meeting_id(value, field)


@zoom_task(
    "list_past_meeting_instances", name="Zoom: list past meeting instances", tags=("meetings",)
)
def list_past_meeting_instances(
    credentials: CredentialsLike, meeting_id: int
) -> list[PastMeetingInstance]:
    """List the ended instances of a meeting (each a UUID and a start time), oldest first.

    A recurring meeting has one per occurrence held, a one-time meeting one per time it was
    started. Needs `meeting:read` (classic) or `meeting:read:list_past_instances` (granular).
    """
    meeting_id = check_meeting_id(meeting_id)
    listing = OPERATIONS["list_past_meeting_instances"].bind(meeting_id=meeting_id)
    with client_for(credentials) as zoom:
        data = call_json(zoom, listing) or {}
    found = [PastMeetingInstance.model_validate(item) for item in data.get("meetings") or []]
    found.sort(key=lambda instance: (instance.start_time is None, instance.start_time))
    run_logger().info("Zoom meeting %s has %d ended instance(s)", meeting_id, len(found))
    return found


@zoom_task("get_past_meeting", name="Zoom: get past meeting", tags=("meetings",))
def get_past_meeting(credentials: CredentialsLike, meeting_id: int | str) -> PastMeeting:
    """Get an ended meeting instance: topic, start and end, host, participants count, minutes.

    Needs `meeting:read` (classic) or `meeting:read:past_meeting` (granular), and a paid plan.
    """
    details = OPERATIONS["get_past_meeting"].bind(meeting_id=check_meeting_ref(meeting_id))
    with client_for(credentials) as zoom:
        meeting = PastMeeting.model_validate(call_json(zoom, details))
    run_logger().info("Got ended Zoom meeting %s (%s)", meeting.id, meeting.uuid)
    return meeting


def participant_rows(
    credentials: CredentialsLike, operation: str, meeting_id: int | str, page_size: int
) -> list[Participant]:
    """Every participant row of one of the two views (``operation``), every page."""
    ref = check_meeting_ref(meeting_id)
    listing = OPERATIONS[operation].bind(meeting_id=ref)
    size = check_page_size(page_size)
    with client_for(credentials) as zoom:
        rows = [
            Participant.model_validate(item)
            for item in call_pages(zoom, listing, "participants", page_size=size)
        ]
    run_logger().info("Zoom meeting %s: %d participant row(s)", ref, len(rows))
    return rows


@zoom_task(
    "list_past_meeting_participants",
    name="Zoom: list past meeting participants",
    tags=("meetings",),
)
def list_past_meeting_participants(
    credentials: CredentialsLike, meeting_id: int | str, *, page_size: int = 300
) -> list[Participant]:
    """List who attended an ended meeting instance, a row per join, every page.

    Needs `meeting:read` (classic) or `meeting:read:list_past_participants` (granular), and a
    paid plan.
    """
    return participant_rows(credentials, "list_past_meeting_participants", meeting_id, page_size)


@zoom_task(
    "report_meeting_participants",
    name="Zoom: report meeting participants",
    tags=("meetings", "reports"),
)
def report_meeting_participants(
    credentials: CredentialsLike, meeting_id: int | str, *, page_size: int = 300
) -> list[Participant]:
    """List who attended an ended meeting instance from Zoom's reports, a row per join, every
    page: any host's meeting on the account.

    Needs `report:read:admin` (classic) or `report:read:list_meeting_participants:admin`
    (granular), and a paid plan (Pro or higher).
    """
    return participant_rows(credentials, "report_meeting_participants", meeting_id, page_size)


__all__ = [
    "get_past_meeting",
    "list_past_meeting_instances",
    "list_past_meeting_participants",
    "report_meeting_participants",
]
