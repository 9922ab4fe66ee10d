"""What ``watch_zoom`` keeps between runs and how it turns what it found into Prefect events.

* :class:`WatchCursor`, a Prefect block: where the last complete window ended (``since``), the
  start of the oldest recording still processing (``hold_from``), and the ids of the events
  already handed to Prefect whose object may still show up in a later window (``sent``).
  A Prefect variable would not do: its value is at most 5,000 characters.
* :func:`watch_lock`: one run per cursor, across processes and machines: the single slot of the
  Prefect global concurrency limit ``prefect-zoom-watch-<cursor>``, held with a lease renewed
  while the run lives, which runs out 60 s after a crashed holder.
* :class:`Found` and :func:`as_prefect_event`: a Zoom object as the event Zoom would have sent
  by webhook, mapped by :func:`prefect_zoom.webhooks.events.prefect_event`, with the stable id
  :func:`prefect_zoom.webhooks.events.polled_event_id`.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx
from prefect.blocks.core import Block
from pydantic import BaseModel, Field

from prefect_zoom.auth.locks import ensure_single_slot_limit
from prefect_zoom.models.meetings import Meeting
from prefect_zoom.models.recordings import RecordingMeeting
from prefect_zoom.models.registrants import MeetingRegistrant
from prefect_zoom.webhooks.envelope import Envelope
from prefect_zoom.webhooks.events import polled_event_id, prefect_event

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

logger = logging.getLogger(__name__)

LOCK_PREFIX = "prefect-zoom-watch-"
LEASE_SECONDS = 60.0
"""Prefect's shortest lease: a crashed run frees its cursor within a minute."""
RETRY_SECONDS = 0.5
"""How often a run waiting for the cursor asks again."""
ENDED_FIELDS = ("uuid", "id", "host_id", "topic", "type", "start_time", "timezone", "duration")
"""The fields of Zoom's ``meeting.ended`` object that a listed meeting has."""


class WatchCursor(Block):
    """Where ``watch_zoom`` stopped (saved after each window; nothing secret in it)."""

    _block_type_name = "Zoom Watch Cursor"
    _description = "Where the prefect-zoom watch_zoom flow stopped, and the events it sent."

    since: datetime | None = Field(None, description="The end of the last complete window.")
    hold_from: datetime | None = Field(
        None, description="When the oldest recording still processing started."
    )
    sent: dict[str, datetime] = Field(
        default_factory=dict,
        description="Event id -> the time of its Zoom object, for objects a window may list again.",
    )

    def window_start(self, until: datetime, lookback: timedelta) -> datetime:
        """The start of the next window: ``lookback`` before the last end (or before ``until``
        on the first run), earlier if a recording was still processing."""
        start = (self.since or until) - lookback
        return min(start, self.hold_from) if self.hold_from else start

    def advance(self, until: datetime, lookback: timedelta, hold_from: datetime | None) -> None:
        """The window up to ``until`` is emitted: move on, and forget the events no later
        window can list again."""
        self.since, self.hold_from = until, hold_from
        start = self.window_start(until, lookback)
        self.sent = {key: when for key, when in self.sent.items() if when >= start}


def load_cursor(name: str) -> WatchCursor:
    """The saved cursor, or a new one (first run)."""
    from prefect.exceptions import ObjectNotFound

    try:
        loaded: WatchCursor = WatchCursor.load(name, _sync=True)  # type: ignore[call-arg,assignment]
    except (ObjectNotFound, ValueError):  # ValueError: Prefect's "Unable to find block document"
        return WatchCursor()
    return loaded


def save_cursor(cursor: WatchCursor, name: str) -> None:
    cursor.save(name, overwrite=True, _sync=True)  # type: ignore[call-arg]


def _take_slot(client: SyncPrefectClient, name: str, wait_seconds: float) -> UUID | None:
    """The lease of the limit's slot, or ``None`` when it stayed taken for ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            answer = client.increment_concurrency_slots_with_lease(
                names=[name], slots=1, mode="concurrency", lease_duration=LEASE_SECONDS
            )
        except httpx.HTTPStatusError as error:
            if error.response.status_code != 423:  # 423 Locked: another run holds it
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(RETRY_SECONDS, left))
        else:
            return UUID(str(answer.json()["lease_id"]))


def _keep_lease(lease_id: UUID, stop: threading.Event) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        while not stop.wait(LEASE_SECONDS / 4):
            try:
                client.renew_concurrency_lease(lease_id, LEASE_SECONDS)
            except Exception as error:  # the API is away: the next beat tries again
                logger.warning("Could not renew the watch cursor's lease: %s", error)


@contextmanager
def watch_lock(cursor_name: str, wait_seconds: float) -> Iterator[bool]:
    """Hold the cursor's lock for the ``with`` block (``True``), or ``False`` when another run
    held it for ``wait_seconds``. Its lease is renewed every 15 s while held."""
    from prefect.client.orchestration import get_client

    name = LOCK_PREFIX + cursor_name
    with get_client(sync_client=True) as client:
        ensure_single_slot_limit(client, name)
        lease_id = _take_slot(client, name, wait_seconds)
        if lease_id is None:
            yield False
            return
        stop = threading.Event()
        keeper = threading.Thread(
            target=contextvars.copy_context().run,  # with this run's Prefect settings
            args=(_keep_lease, lease_id, stop),
            name=f"{name}-lease",
            daemon=True,
        )
        keeper.start()
        try:
            yield True
        finally:
            stop.set()
            keeper.join(10)
            client.release_concurrency_slots_with_lease(lease_id)


class Found(BaseModel):
    """A Zoom object that makes an event: which event, its stable key and time, and the
    ``payload.object`` Zoom's webhook would carry."""

    event: str
    key: str
    when: datetime
    object: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(polled_event_id(self.event, self.key))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def as_prefect_event(found: Found, account_id: str | None) -> dict[str, Any]:
    """The keyword arguments of ``emit_event``, exactly as the webhook receiver builds them."""
    payload: dict[str, Any] = {"object": found.object}
    if account_id:
        payload["account_id"] = account_id
    envelope = Envelope(found.event, _ms(found.when), payload, None)
    return prefect_event(envelope, prefect_id=polled_event_id(found.event, found.key))


# ---- Zoom objects -> events ---------------------------------------------------------------------
def is_processed(meeting: RecordingMeeting) -> bool:
    """Every file Zoom lists with a status is ``completed`` (CC and TIMELINE have none)."""
    return all(f.status in (None, "completed") for f in meeting.recording_files)


def recording_completed(meeting: RecordingMeeting) -> Found:
    """``recording.completed`` for a processed recording, at its last file's end."""
    ends = [f.recording_end for f in meeting.recording_files if f.recording_end is not None]
    when = max(ends) if ends else meeting.start_time or datetime.now(UTC)
    obj = meeting.model_dump(mode="json", exclude={"download_access_token"}, exclude_none=True)
    return Found(event="recording.completed", key=meeting.uuid, when=when, object=obj)


def ended_at(meeting: Meeting) -> datetime | None:
    """When a listed past meeting ended by its schedule (start plus duration)."""
    if meeting.start_time is None:
        return None
    return meeting.start_time + timedelta(minutes=meeting.duration or 0)


def meeting_ended(meeting: Meeting, end: datetime) -> Found:
    """``meeting.ended`` for a past meeting (keyed by its instance UUID when Zoom gives one)."""
    listed = meeting.model_dump(mode="json", exclude_none=True)
    obj = {name: listed[name] for name in ENDED_FIELDS if name in listed}
    obj["end_time"] = end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Found(event="meeting.ended", key=meeting.uuid or str(meeting.id), when=end, object=obj)


def registration_created(
    meeting: Meeting, registrant: MeetingRegistrant, found_at: datetime
) -> Found:
    """``meeting.registration_created`` for one registrant of a meeting."""
    obj = meeting.model_dump(mode="json", exclude_none=True, include=set(ENDED_FIELDS))
    obj["registrant"] = registrant.model_dump(mode="json", exclude_none=True)
    when = registrant.create_time or found_at
    key = f"{meeting.id}/{registrant.id}"
    return Found(event="meeting.registration_created", key=key, when=when, object=obj)


__all__ = [
    "Found",
    "WatchCursor",
    "as_prefect_event",
    "ended_at",
    "is_processed",
    "load_cursor",
    "meeting_ended",
    "recording_completed",
    "registration_created",
    "save_cursor",
    "watch_lock",
]
