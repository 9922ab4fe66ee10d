"""Prefect tasks for Zoom webinars: schedule one-time and recurring webinars, read, change, list
and delete.

A webinar needs the host to have Zoom's webinar add-on; without it Zoom answers 400 code 200
("Subscription plan for webinar is missing"). Logs name topics and ids only, never start URLs
or passcodes.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, Literal, get_args

from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.client.calls import call, call_json
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.models import MeetingRequest, MeetingSettings, Recurrence, Webinar, parse_input
from prefect_zoom.tasks._common import CredentialsLike, client_for, run_logger, zoom_task
from prefect_zoom.tasks.meetings import (
    check_meeting_id,
    check_occurrence_id,
    check_topic_and_duration,
    check_user_id,
    delete_scheduled,
    list_of_kind,
    patch_and_read,
    retry_if_not_created,
    scheduled_request,
)

WebinarListType = Literal["scheduled", "upcoming"]
ONE_TIME_WEBINAR = 5
RECURRING_NO_FIXED_TIME_WEBINAR = 6
RECURRING_WEBINAR = 9


def _webinar_request(*fields: Any) -> MeetingRequest:
    """The checked request of a scheduled webinar, from the schedule tasks' parameters (as
    :func:`~prefect_zoom.tasks.meetings.scheduled_request` takes them); errors name
    ``webinar.…`` fields."""
    return scheduled_request(*fields, prefix="webinar")


def _schedule(
    credentials: CredentialsLike, request: MeetingRequest, webinar_type: int, user_id: str
) -> Webinar:
    """Send the create of a webinar of ``webinar_type`` from a checked request."""
    create = OPERATIONS["create_webinar"].bind(user_id=check_user_id(user_id))
    body = request.to_zoom() | {"type": webinar_type}
    with client_for(credentials) as zoom:
        response = call(zoom, create, json=body, expected=(201, 200))
    webinar = Webinar.model_validate(response.json())
    run_logger().info(
        "Scheduled Zoom webinar %s (%r, type %s, %d occurrence(s))",
        webinar.id,
        webinar.topic,
        webinar.type,
        len(webinar.occurrences),
    )
    return webinar


_scheduling = partial(
    zoom_task, "create_webinar", tags=("webinars",), retry_condition=retry_if_not_created
)
"""The decorator of the webinar creates: retried only when Zoom surely did not create one."""


@_scheduling(name="Zoom: schedule one-time webinar")
def schedule_one_time_webinar(
    credentials: CredentialsLike,
    topic: str,
    start_time: datetime,
    duration_minutes: int,
    *,
    user_id: str = "me",
    timezone: str | None = None,
    password: str | None = None,
    agenda: str | None = None,
    settings: MeetingSettings | dict[str, Any] | None = None,
) -> Webinar:
    """Schedule a one-time Zoom webinar (type 5) for ``user_id`` (``me`` by default, who needs
    Zoom's webinar add-on) at ``start_time`` for ``duration_minutes``.

    Checked like a meeting: ``start_time`` aware (or naive with ``timezone``), ``password`` at
    most 10 letters, digits or ``@ - _ *``. Retried only when Zoom surely did not create it (a
    per-second 429, or no connection made), so a retry never schedules a second webinar. Needs
    `webinar:write` (classic) or `webinar:write:webinar` (granular).
    """
    request = _webinar_request(
        topic, start_time, duration_minutes, None, timezone, password, agenda, settings
    )
    return _schedule(credentials, request, ONE_TIME_WEBINAR, user_id)


@_scheduling(name="Zoom: schedule recurring webinar")
def schedule_recurring_webinar(
    credentials: CredentialsLike,
    topic: str,
    start_time: datetime,
    duration_minutes: int,
    recurrence: Recurrence | dict[str, Any],
    *,
    user_id: str = "me",
    timezone: str | None = None,
    password: str | None = None,
    settings: MeetingSettings | dict[str, Any] | None = None,
    agenda: str | None = None,
) -> Webinar:
    """Schedule a recurring Zoom webinar with a fixed time (type 9); returns its occurrences.

    ``recurrence`` is checked as a meeting's: daily, weekly (``weekly_days``, 1 = Sunday) or
    monthly (``monthly_day``, or ``monthly_week`` + ``monthly_week_day``), every
    ``repeat_interval``, ending after ``end_times`` occurrences (at most 60) or at
    ``end_date_time``. Retried only when Zoom surely did not create it, so a retry never
    schedules a second series. Needs `webinar:write` / `webinar:write:webinar`.
    """
    request = _webinar_request(
        topic, start_time, duration_minutes, recurrence, timezone, password, agenda, settings
    )
    if request.recurrence is None:
        raise ZoomInputError(
            "webinar.recurrence",
            "a recurring webinar needs a recurrence",
            "Pass e.g. {'type': 2, 'weekly_days': 'tuesday', 'end_times': 6}.",
        )
    return _schedule(credentials, request, RECURRING_WEBINAR, user_id)


@_scheduling(name="Zoom: schedule no-fixed-time webinar")
def schedule_no_fixed_time_webinar(
    credentials: CredentialsLike,
    topic: str,
    duration_minutes: int = 60,
    *,
    user_id: str = "me",
    password: str | None = None,
    agenda: str | None = None,
    settings: MeetingSettings | dict[str, Any] | None = None,
) -> Webinar:
    """Schedule a recurring Zoom webinar with no fixed time (type 6): one join link for any
    time, no start time, no occurrences and no registration.

    Retried only when Zoom surely did not create it. Needs `webinar:write` /
    `webinar:write:webinar`.
    """
    check_topic_and_duration(topic, duration_minutes, "webinar")
    fields = {
        "topic": topic,
        "duration": duration_minutes,
        "password": password,
        "agenda": agenda,
        "settings": settings,
    }
    request = parse_input(MeetingRequest, fields, prefix="webinar")
    return _schedule(credentials, request, RECURRING_NO_FIXED_TIME_WEBINAR, user_id)


@zoom_task("get_webinar", name="Zoom: get webinar", tags=("webinars",))
def get_webinar(credentials: CredentialsLike, webinar_id: int) -> Webinar:
    """Get a webinar by its id. Needs `webinar:read` (classic) or `webinar:read:webinar`
    (granular)."""
    bound = OPERATIONS["get_webinar"].bind(webinar_id=check_meeting_id(webinar_id, "webinar_id"))
    with client_for(credentials) as zoom:
        webinar = Webinar.model_validate(call_json(zoom, bound))
    run_logger().info("Got Zoom webinar %s", webinar.id)
    return webinar


@zoom_task("update_webinar", name="Zoom: update webinar", tags=("webinars",))
def update_webinar(
    credentials: CredentialsLike,
    webinar_id: int,
    changes: MeetingRequest | dict[str, Any],
    occurrence_id: str | None = None,
) -> Webinar:
    """Change a webinar's fields (only those given: ``topic``, ``start_time``, ``duration``,
    ``timezone``, ``password``, ``agenda``, ``recurrence``, ``settings``); return it as it now is.

    With ``occurrence_id`` only that occurrence's start time and duration move. Zoom answers 204
    without a body, so the webinar is read again. Sending the same changes twice has the effect
    of once, so retries are safe. Needs `webinar:write` or `webinar:update:webinar`, plus
    `webinar:read` / `webinar:read:webinar` for the read-back.
    """
    webinar_id = check_meeting_id(webinar_id, "webinar_id")
    update = OPERATIONS["update_webinar"].bind(webinar_id=webinar_id)
    read_back = OPERATIONS["get_webinar"].bind(webinar_id=webinar_id)
    return Webinar.model_validate(
        patch_and_read(credentials, update, read_back, changes, occurrence_id)
    )


@zoom_task("delete_webinar", name="Zoom: delete webinar", tags=("webinars",))
def delete_webinar(
    credentials: CredentialsLike,
    webinar_id: int,
    *,
    cancel_webinar_reminder: bool = False,
    occurrence_id: str | None = None,
) -> None:
    """Delete a webinar (or with ``occurrence_id`` one occurrence of a recurring one).

    ``cancel_webinar_reminder`` e-mails panelists and registrants. Needs `webinar:write`
    (classic) or `webinar:delete:webinar` (granular).
    """
    webinar_id = check_meeting_id(webinar_id, "webinar_id")
    delete = OPERATIONS["delete_webinar"].bind(webinar_id=webinar_id)
    reminder = {"cancel_webinar_reminder": cancel_webinar_reminder}
    delete_scheduled(credentials, delete, check_occurrence_id(occurrence_id), reminder)


@zoom_task("list_webinars", name="Zoom: list webinars", tags=("webinars",))
def list_webinars(
    credentials: CredentialsLike, user_id: str = "me", type: WebinarListType = "scheduled"
) -> list[Webinar]:
    """List a user's webinars, every page: all ``scheduled`` ones, or the ``upcoming`` ones.

    Needs `webinar:read` (classic) or `webinar:read:list_webinars` (granular).
    """
    kinds = get_args(WebinarListType)
    return list_of_kind(credentials, "list_webinars", user_id, type, kinds, Webinar)


__all__ = [
    "delete_webinar",
    "get_webinar",
    "list_webinars",
    "schedule_no_fixed_time_webinar",
    "schedule_one_time_webinar",
    "schedule_recurring_webinar",
    "update_webinar",
]
