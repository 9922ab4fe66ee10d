"""Prefect tasks for held webinars: who came (participants) and who registered but did not
(absentees). Read-only, so retried after any transient error."""

from __future__ import annotations

from typing import Any

from prefect_zoom.catalog import OPERATIONS, BoundOperation
from prefect_zoom.client.calls import call_pages
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.models import WebinarParticipant, WebinarRegistrant
from prefect_zoom.tasks._common import (
    CredentialsLike,
    check_page_size,
    client_for,
    run_logger,
    zoom_task,
)
from prefect_zoom.tasks.meetings import ListedT, check_meeting_id, check_occurrence_id

TAGS = ("webinars",)


def check_past_webinar(value: Any) -> int | str:
    """A webinar id (its latest held instance) or a held instance's UUID."""
    if isinstance(value, str) and not value.replace(" ", "").isdigit():
        if not value.strip():
            raise ZoomInputError(
                "webinar_id",
                "is empty",
                "Pass the webinar's id or a held instance's UUID; nothing was sent to Zoom.",
            )
        return value.strip()
    return check_meeting_id(value, "webinar_id")


def _held_list(
    credentials: CredentialsLike,
    listing: BoundOperation,
    items_key: str,
    model: type[ListedT],
    params: dict[str, str],
    page_size: Any,
) -> list[ListedT]:
    """Every page of one list of a held webinar, each item as ``model``."""
    size = check_page_size(page_size)
    with client_for(credentials) as zoom:
        found = [
            model.model_validate(item)
            for item in call_pages(zoom, listing, items_key, params, page_size=size)
        ]
    run_logger().info("Listed %d %s of %s", len(found), items_key, listing.path)
    return found


@zoom_task("list_past_webinar_participants", name="Zoom: list past webinar participants", tags=TAGS)
def list_past_webinar_participants(
    credentials: CredentialsLike, webinar_id: int | str, *, page_size: int = 300
) -> list[WebinarParticipant]:
    """Everyone who joined a held webinar, every page: ``webinar_id`` (its latest held instance)
    or an instance's UUID (encoded, twice when Zoom requires it). Someone who joined twice is
    listed twice. Needs `webinar:read` (classic) or `webinar:read:list_past_participants`
    (granular); a Pro or higher plan with the webinar add-on.
    """
    bound = OPERATIONS["list_past_webinar_participants"].bind(
        webinar_id=check_past_webinar(webinar_id)
    )
    return _held_list(credentials, bound, "participants", WebinarParticipant, {}, page_size)


@zoom_task("list_webinar_absentees", name="Zoom: list webinar absentees", tags=TAGS)
def list_webinar_absentees(
    credentials: CredentialsLike,
    webinar_id: int | str,
    *,
    occurrence_id: str | None = None,
    page_size: int = 300,
) -> list[WebinarRegistrant]:
    """The registrants of a held webinar who did not join, every page: ``webinar_id`` (its
    latest held instance) or an instance's UUID; with ``occurrence_id``, of one occurrence.

    A webinar without registration answers 400 code 3000. Needs `webinar:read` (classic) or
    `webinar:read:list_absentees` (granular); a Heavy call.
    """
    bound = OPERATIONS["list_webinar_absentees"].bind(webinar_id=check_past_webinar(webinar_id))
    occurrence = check_occurrence_id(occurrence_id)
    params = {"occurrence_id": occurrence} if occurrence else {}
    return _held_list(credentials, bound, "registrants", WebinarRegistrant, params, page_size)


__all__ = ["list_past_webinar_participants", "list_webinar_absentees"]
