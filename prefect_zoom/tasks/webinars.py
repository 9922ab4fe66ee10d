"""Prefect tasks for Zoom webinars: schedule a one-time webinar, read, list and delete.

A webinar needs the host to have Zoom's webinar add-on; without it Zoom answers 400 code 200
("Subscription plan for webinar is missing"). Logs name topics and ids only, never start URLs
or passcodes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.client.calls import call, call_json
from prefect_zoom.models import MeetingSettings, Webinar
from prefect_zoom.tasks._common import CredentialsLike, client_for, run_logger, zoom_task
from prefect_zoom.tasks.meetings import (
    check_meeting_id,
    check_occurrence_id,
    check_user_id,
    delete_scheduled,
    list_of_kind,
    retry_if_not_created,
    scheduled_request,
)

WebinarListType = Literal["scheduled", "upcoming"]
ONE_TIME_WEBINAR = 5


@zoom_task(
    "create_webinar",
    name="Zoom: schedule one-time webinar",
    tags=("webinars",),
    retry_condition=retry_if_not_created,
)
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
    request = scheduled_request(
        topic,
        start_time,
        duration_minutes,
        None,
        timezone,
        password,
        agenda,
        settings,
        prefix="webinar",
    )
    create = OPERATIONS["create_webinar"].bind(user_id=check_user_id(user_id))
    with client_for(credentials) as zoom:
        response = call(
            zoom, create, json=request.to_zoom() | {"type": ONE_TIME_WEBINAR}, expected=(201, 200)
        )
    webinar = Webinar.model_validate(response.json())
    run_logger().info("Scheduled Zoom webinar %s (%r)", webinar.id, webinar.topic)
    return webinar


@zoom_task("get_webinar", name="Zoom: get webinar", tags=("webinars",))
def get_webinar(credentials: CredentialsLike, webinar_id: int) -> Webinar:
    """Get a webinar by its id. Needs `webinar:read` (classic) or `webinar:read:webinar`
    (granular)."""
    bound = OPERATIONS["get_webinar"].bind(webinar_id=check_meeting_id(webinar_id, "webinar_id"))
    with client_for(credentials) as zoom:
        webinar = Webinar.model_validate(call_json(zoom, bound))
    run_logger().info("Got Zoom webinar %s", webinar.id)
    return webinar


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


__all__ = ["delete_webinar", "get_webinar", "list_webinars", "schedule_one_time_webinar"]
