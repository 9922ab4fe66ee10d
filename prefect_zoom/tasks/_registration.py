"""What the meeting and webinar registrant tasks share: their input checks and the calls they
send (list by status, change status, delete), given the operation bound to the meeting or webinar.

Every call needs registration on for the meeting or webinar (``settings.approval_type`` 0 or 1).
"""

from __future__ import annotations

from typing import Any, get_args

from prefect_zoom.catalog import BoundOperation
from prefect_zoom.client.calls import call, call_pages
from prefect_zoom.exceptions import ZoomInputError, ZoomValidationError
from prefect_zoom.models import RegistrantAction, RegistrantStatus
from prefect_zoom.tasks._common import CredentialsLike, check_page_size, client_for, run_logger
from prefect_zoom.tasks.meetings import ListedT, check_choice, check_occurrence_id

STATUS_BATCH = 30
"""Registrants one status change may name (the ``registrants`` maximum of Zoom's spec)."""


def check_registrants(value: Any) -> list[dict[str, str]]:
    """Registrant ids or emails (an email holds ``@``) as Zoom's ``registrants`` entries,
    duplicates dropped."""
    fix = "Pass a list of registrant ids or emails; nothing was sent to Zoom."
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ZoomInputError("registrants", "expected at least one registrant id or email", fix)
    entries: dict[str, dict[str, str]] = {}
    for number, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ZoomInputError(f"registrants.{number}", f"{item!r} is not an id or email", fix)
        text = item.strip()
        entry = {"email": text} if "@" in text else {"id": text}
        entries.setdefault(text.lower(), entry)
    return list(entries.values())


def check_registrant_id(value: Any) -> str:
    """A registrant id (the ``id`` that the registrant lists give)."""
    if not isinstance(value, str) or not value.strip() or "@" in value:
        raise ZoomInputError(
            "registrant_id",
            f"{value!r} is not a registrant id",
            "Take the id from the list of registrants (not the email); nothing was sent to Zoom.",
        )
    return value.strip()


def _occurrence_params(occurrence_id: str | None) -> dict[str, str] | None:
    return {"occurrence_id": occurrence_id} if occurrence_id else None


def list_registrants(
    credentials: CredentialsLike,
    listing: BoundOperation,
    status: Any,
    occurrence_id: Any,
    page_size: Any,
    model: type[ListedT],
) -> list[ListedT]:
    """Every page of the registrants with one ``status`` (of one occurrence when given)."""
    kind = check_choice(status, get_args(RegistrantStatus), "status")
    params = {"status": kind} | (_occurrence_params(check_occurrence_id(occurrence_id)) or {})
    size = check_page_size(page_size)
    with client_for(credentials) as zoom:
        found = [
            model.model_validate(item)
            for item in call_pages(zoom, listing, "registrants", params, page_size=size)
        ]
    run_logger().info("Listed %d %s registrant(s) of %s", len(found), kind, listing.path)
    return found


def change_status(
    credentials: CredentialsLike,
    change: BoundOperation,
    action: Any,
    registrants: Any,
    occurrence_id: Any,
) -> int:
    """Approve, deny or cancel registrants, :data:`STATUS_BATCH` to a request; how many."""
    verb = check_choice(action, get_args(RegistrantAction), "action")
    entries = check_registrants(registrants)
    params = _occurrence_params(check_occurrence_id(occurrence_id))
    with client_for(credentials) as zoom:
        for start in range(0, len(entries), STATUS_BATCH):
            call(
                zoom,
                change,
                params=params,
                json={"action": verb, "registrants": entries[start : start + STATUS_BATCH]},
                expected=(204, 200),
            )
    run_logger().info("%s: %d registrant(s) of %s", verb.capitalize(), len(entries), change.path)
    return len(entries)


def delete_registrant(
    credentials: CredentialsLike,
    delete: BoundOperation,
    occurrence_id: Any,
    missing_ok: bool,
) -> bool:
    """Delete a registrant; with ``missing_ok`` an unknown one (400 code 300) is ``False``."""
    params = _occurrence_params(check_occurrence_id(occurrence_id))
    with client_for(credentials) as zoom:
        try:
            call(zoom, delete, params=params, expected=(204, 200))
        except ZoomValidationError:
            if not missing_ok:
                raise
            run_logger().info("Registrant %s was already gone", delete.path)
            return False
    run_logger().info("Deleted registrant %s on Zoom", delete.path)
    return True
