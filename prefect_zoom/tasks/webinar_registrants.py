"""Prefect tasks for a webinar's registrants: add, list by status, approve/deny/cancel, delete.

They share their checks and calls with the meeting registrant tasks
(:mod:`prefect_zoom.tasks._registration`). Every call needs registration on for the webinar
(``settings.approval_type`` 0 or 1, on a one-time or fixed-time recurring webinar); otherwise
Zoom answers 400 code 3000 ("This webinar does not have registration as required").
"""

from __future__ import annotations

from typing import Any

from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.models import (
    Registrant,
    RegistrantAction,
    RegistrantRequest,
    RegistrantStatus,
    WebinarRegistrant,
)
from prefect_zoom.tasks._common import CredentialsLike, zoom_task
from prefect_zoom.tasks._registration import (
    change_status,
    check_registrant_id,
    delete_registrant,
    list_registrants,
)
from prefect_zoom.tasks.meetings import check_meeting_id, register_on

TAGS = ("webinars",)


def _webinar_id(value: Any) -> int:
    return check_meeting_id(value, "webinar_id")


@zoom_task("add_webinar_registrant", name="Zoom: add webinar registrant", tags=TAGS)
def add_webinar_registrant(
    credentials: CredentialsLike,
    webinar_id: int,
    registrant: RegistrantRequest | dict[str, Any],
) -> Registrant:
    """Register someone (email, first name, optional last name) for a webinar; returns their
    ``registrant_id`` and own ``join_url``.

    Safe to run again, and retried after transient errors: Zoom keeps one registration per email
    and webinar, and answers an email already registered with that registration again, so a
    repeat never registers anyone twice (as for meetings: not in Zoom's spec, see
    docs/zoom-behaviour.md). Needs `webinar:write` (classic) or `webinar:write:registrant`
    (granular).
    """
    create = OPERATIONS["add_webinar_registrant"].bind(webinar_id=_webinar_id(webinar_id))
    return register_on(credentials, create, registrant)


@zoom_task("list_webinar_registrants", name="Zoom: list webinar registrants", tags=TAGS)
def list_webinar_registrants(
    credentials: CredentialsLike,
    webinar_id: int,
    status: RegistrantStatus = "approved",
    *,
    occurrence_id: str | None = None,
    page_size: int = 300,
) -> list[WebinarRegistrant]:
    """List a webinar's registrants with one ``status`` (approved, pending or denied), every
    page; with ``occurrence_id``, those of one occurrence. Needs `webinar:read` (classic) or
    `webinar:read:list_registrants` (granular).
    """
    listing = OPERATIONS["list_webinar_registrants"].bind(webinar_id=_webinar_id(webinar_id))
    return list_registrants(
        credentials, listing, status, occurrence_id, page_size, WebinarRegistrant
    )


@zoom_task(
    "update_webinar_registrant_status", name="Zoom: update webinar registrant status", tags=TAGS
)
def update_webinar_registrant_status(
    credentials: CredentialsLike,
    webinar_id: int,
    action: RegistrantAction,
    registrants: list[str],
    *,
    occurrence_id: str | None = None,
) -> int:
    """Approve, deny or cancel webinar registrants (ids or emails), 30 to a request.

    Safe to retry: a status a registrant already has is left as it is. Needs `webinar:write`
    (classic) or `webinar:update:registrant_status` (granular). Returns how many were named.
    """
    change = OPERATIONS["update_webinar_registrant_status"].bind(webinar_id=_webinar_id(webinar_id))
    return change_status(credentials, change, action, registrants, occurrence_id)


@zoom_task("delete_webinar_registrant", name="Zoom: delete webinar registrant", tags=TAGS)
def delete_webinar_registrant(
    credentials: CredentialsLike,
    webinar_id: int,
    registrant_id: str,
    *,
    occurrence_id: str | None = None,
    missing_ok: bool = False,
) -> bool:
    """Delete a webinar registrant (with ``occurrence_id``, from that occurrence only).

    With ``missing_ok`` an unknown registrant id (Zoom's 400 code 300) counts as already deleted
    and the task returns ``False``. Needs `webinar:write` (classic) or
    `webinar:delete:registrant` (granular).
    """
    delete = OPERATIONS["delete_webinar_registrant"].bind(
        webinar_id=_webinar_id(webinar_id), registrant_id=check_registrant_id(registrant_id)
    )
    return delete_registrant(credentials, delete, occurrence_id, missing_ok)


__all__ = [
    "add_webinar_registrant",
    "delete_webinar_registrant",
    "list_webinar_registrants",
    "update_webinar_registrant_status",
]
