"""A Zoom event as a Prefect event, and the identity of a delivery (for dedupe and event ids).

Pure functions of the envelope and the raw body (no HTTP, no spool). The Prefect event::

    event    = "zoom.<zoom event>"                    e.g. "zoom.recording.completed"
    resource = {"prefect.resource.id": "zoom.meeting.<uuid or id>",   (meeting.*, recording.*,
                "prefect.resource.name": <topic>, "zoom.account-id": …,    webinar.*)
                "zoom.meeting-id": …, "zoom.meeting-uuid": …, "zoom.host-id": …, "zoom.event": …}
               "zoom.user.<id>" for user.* events, "zoom.account.<id>" for anything else
    related  = [{"prefect.resource.id": "zoom.account.<account_id>", "prefect.resource.role": "account"},
                {"prefect.resource.id": "zoom.user.<host_id>", "prefect.resource.role": "host"}]
    payload  = Zoom's ``payload`` (``account_id``, ``object``, …) minus secrets
               (:func:`~prefect_zoom.webhooks.envelope.scrub`), plus ``event_ts`` and the
               envelope's ``download_token`` when present
    occurred = event_ts
    id       = event_id(raw body): a retry, a replica or a re-send after a crash gives Prefect
               the same id, and Prefect stores one event per id (the ``watch_zoom`` flow, which
               polls instead, uses polled_event_id(event name, object key))

The ``download_token`` of ``recording.completed`` is **kept** on purpose: it is short-lived
(24 hours), read-only, limited to that meeting's recording files, and it is what a deployment
triggered by the event needs to download them without any other credential. Anyone who can read
your Prefect events can use it until it expires; if that is not acceptable, drop it with
``strip_keys`` and download with the connection block's own token instead.

A delivery's identity (:func:`delivery_keys`) is the SHA-256 of its raw body plus Zoom's
``x-zm-trackingid`` / ``x-zm-request-id`` header: Zoom retries when it does not get a 2xx within 3
seconds and may deliver twice; distinct events have distinct bodies, so they are never merged.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from prefect_zoom.exceptions import WebhookRejectedError as Rejected
from prefect_zoom.webhooks.envelope import SECRET_KEYS, Envelope, is_int, scrub

DELIVERY_ID_HEADERS = ("x-zm-trackingid", "x-zm-request-id")
MEETING_EVENT_FAMILIES = ("meeting", "recording", "webinar")
MAX_LABEL_CHARS = 256
_ID_NAMESPACE = uuid.UUID("5b0c6a1e-5f3e-4d0b-9a55-7a6f6d7a6f6d")


# ---- the Prefect event -------------------------------------------------------------------------
def _label(value: object) -> str | None:
    if isinstance(value, str) and value:
        return value[:MAX_LABEL_CHARS]
    if is_int(value):
        return str(value)
    return None


def resource_id(envelope: Envelope) -> str:
    """The Prefect resource an event is about: a meeting, a user, or else the account."""
    family = envelope.event.split(".", 1)[0]
    object_key = _label(envelope.object_key())
    if family in MEETING_EVENT_FAMILIES and object_key:
        return f"zoom.meeting.{object_key}"
    user = _label(envelope.object.get("id"))
    if family == "user" and user:
        return f"zoom.user.{user}"
    return f"zoom.account.{envelope.account_id or 'unknown'}"


def prefect_event(
    envelope: Envelope,
    strip_keys: frozenset[str] = SECRET_KEYS,
    prefect_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``emit_event`` for one Zoom event (see the module docstring).

    ``prefect_id`` is the Prefect event id; the receiver passes :func:`event_id` of the raw body
    (a random id when omitted).
    """
    obj = envelope.object
    account_id = envelope.account_id
    family = envelope.event.split(".", 1)[0]
    about = resource_id(envelope)
    resource: dict[str, str] = {"prefect.resource.id": about, "zoom.event": envelope.event}
    meeting = family in MEETING_EVENT_FAMILIES
    labels = {
        "prefect.resource.name": obj.get("topic") if family != "user" else obj.get("email"),
        "zoom.account-id": account_id,
        "zoom.meeting-id": obj.get("id") if meeting else None,
        "zoom.meeting-uuid": obj.get("uuid") if meeting else None,
        "zoom.host-id": obj.get("host_id"),
    }
    for name, value in labels.items():
        text = _label(value)
        if text is not None:
            resource[name] = text
    related: list[dict[str, str]] = []
    if account_id and about != f"zoom.account.{account_id}":
        related.append(
            {
                "prefect.resource.id": f"zoom.account.{account_id}",
                "prefect.resource.role": "account",
            }
        )
    host = _label(obj.get("host_id"))
    if host and about != f"zoom.user.{host}":
        related.append(
            {"prefect.resource.id": f"zoom.user.{host}", "prefect.resource.role": "host"}
        )
    payload = scrub(envelope.payload, strip_keys)
    payload["event_ts"] = envelope.event_ts
    if envelope.download_token is not None and "download_token" not in strip_keys:
        payload["download_token"] = envelope.download_token
    occurred = datetime.fromtimestamp((envelope.event_ts or 0) / 1000, tz=UTC)
    return {
        "event": f"zoom.{envelope.event}",
        "resource": resource,
        "related": related,
        "payload": payload,
        "occurred": occurred,
        "id": prefect_id or uuid.uuid4(),
    }


def checked_event(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` if Prefect can store it as an ``Event``; raises :class:`Rejected` (422) if not,
    before anything is spooled or acknowledged."""
    from prefect.events import Event
    from pydantic import ValidationError

    try:
        Event(**event)
    except (ValidationError, ValueError) as error:
        reason = f"Prefect cannot store this event: {str(error).splitlines()[0]}"
        raise Rejected(422, "invalid_event", reason) from None
    return event


# ---- a delivery's identity ---------------------------------------------------------------------
def body_digest(raw: bytes) -> str:
    """The SHA-256 of a delivery's raw (signed) body: its identity for dedupe and event ids."""
    return hashlib.sha256(raw).hexdigest()


def event_id(raw: bytes) -> uuid.UUID:
    """The Prefect event id of a delivery: the same body always gets the same id."""
    return uuid.uuid5(_ID_NAMESPACE, body_digest(raw))


def polled_event_id(event: str, key: str) -> uuid.UUID:
    """The Prefect event id of an event found by polling (``watch_zoom``): the same Zoom event
    (``recording.completed``) of the same object (its UUID) always gets the same id."""
    return uuid.uuid5(_ID_NAMESPACE, f"polled:{event}:{key}")


def delivery_keys(headers: Mapping[str, str], raw: bytes) -> list[str]:
    """What makes two deliveries the same: the raw body's hash, and Zoom's per-event tracking
    id (``x-zm-trackingid``, the same on Zoom's retries) or request id when present."""
    keys = [f"body:{body_digest(raw)}"]
    for name in DELIVERY_ID_HEADERS:
        value = headers.get(name)
        if value:
            keys.append(f"{name}:{value[:200]}")
    return keys


__all__ = [
    "DELIVERY_ID_HEADERS",
    "MEETING_EVENT_FAMILIES",
    "body_digest",
    "checked_event",
    "delivery_keys",
    "event_id",
    "polled_event_id",
    "prefect_event",
    "resource_id",
]
