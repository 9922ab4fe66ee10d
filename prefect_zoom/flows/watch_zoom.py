"""The ``watch_zoom`` flow: Zoom's events by polling, for teams that cannot expose a webhook.

Run on a schedule (every five minutes in ``deployments/prefect.yaml``), it finds what happened
since its last run and emits the Prefect events the webhook receiver would have emitted (same
names, resources and payload shape), so the same deployment triggers fire:

* ``zoom.recording.completed``: recorded meetings whose files are all processed (listed as the
  archive lists them, per user and day);
* ``zoom.meeting.ended``: past meetings (``type=previous_meetings``) whose scheduled end passed;
* ``zoom.meeting.registration_created``: approved and pending registrants of upcoming meetings
  with registration on.

Each window reaches ``lookback_hours`` before the end of the last one, so a late listing is still
seen; an event already sent (its id is in the cursor) is not sent again, and every event has a
stable id, so a run that crashed and its re-run never emit one twice (see ``docs/polling.md``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from prefect import flow
from pydantic import BaseModel, Field

from prefect_zoom.exceptions import ZoomInputError, ZoomNotFoundError
from prefect_zoom.flows._watch import (
    Found,
    WatchCursor,
    as_prefect_event,
    ended_at,
    is_processed,
    load_cursor,
    meeting_ended,
    recording_completed,
    registration_created,
    save_cursor,
    watch_lock,
)
from prefect_zoom.tasks._common import load_credentials, run_logger, zoom_task
from prefect_zoom.tasks.meetings import check_choice, check_user_id, list_meetings
from prefect_zoom.tasks.recordings import list_recordings
from prefect_zoom.tasks.registrants import list_meeting_registrants
from prefect_zoom.webhooks.delivery import PrefectEventSender

Watched = Literal["recordings", "meetings", "registrants"]
WATCHED: tuple[Watched, ...] = get_args(Watched)
MAX_LOOKBACK_HOURS = 30 * 24
REGISTRATION_TYPES = (2, 8)
"""Meeting types that take registrants (scheduled, recurring with a fixed time)."""
_BLOCK_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


class WatchReport(BaseModel):
    """What one run looked at and emitted."""

    cursor_block: str
    window_start: datetime | None = None
    window_end: datetime | None = None
    emitted: dict[str, int] = Field(
        default_factory=dict, description="Events sent to Prefect by this run, by event name."
    )
    already_sent: int = Field(0, description="Events found again that an earlier run sent.")
    still_processing: int = Field(0, description="Recordings not yet completed (next runs).")
    skipped: bool = Field(False, description="Another run held the cursor: nothing was done.")


# ---- input checks (before any request) ---------------------------------------------------------
def check_block_name(value: Any) -> str:
    """A Prefect block name: lowercase letters, digits and dashes."""
    if not isinstance(value, str) or not value or not set(value) <= _BLOCK_NAME_CHARS:
        raise ZoomInputError(
            "cursor_block",
            f"{value!r} is not a Prefect block name",
            "Use lowercase letters, digits and dashes, e.g. 'zoom-watch'; nothing was sent.",
        )
    return value


def check_lookback(hours: Any) -> timedelta:
    if isinstance(hours, bool) or not isinstance(hours, (int, float)):
        raise ZoomInputError("lookback_hours", f"{hours!r} is not a number", "Pass hours, e.g. 24.")
    if not 0 < hours <= MAX_LOOKBACK_HOURS:
        raise ZoomInputError(
            "lookback_hours",
            f"{hours} is outside (0, {MAX_LOOKBACK_HOURS}]",
            "Pass more than 0 and at most 30 days of hours; nothing was sent to Zoom.",
        )
    return timedelta(hours=hours)


# ---- finding -----------------------------------------------------------------------------------
@zoom_task("list_user_recordings", name="Zoom: find completed recordings", tags=("watch",))
def find_completed_recordings(
    credentials_block: str, user_ids: list[str], start: datetime, until: datetime
) -> tuple[list[Found], list[datetime]]:
    """Processed recordings that started in the window, and when those still processing
    started."""
    block = load_credentials(credentials_block)
    found: list[Found] = []
    processing: list[datetime] = []
    for user_id in user_ids:
        for meeting in list_recordings.fn(
            block, user_id, from_date=start.date(), to_date=until.date()
        ):
            began = meeting.start_time or until
            if began < start:
                continue
            if is_processed(meeting):
                found.append(recording_completed(meeting))
            else:
                processing.append(began)
    return found, processing


@zoom_task("list_meetings", name="Zoom: find ended meetings", tags=("watch",))
def find_ended_meetings(
    credentials_block: str, user_ids: list[str], start: datetime, until: datetime
) -> list[Found]:
    """Past meetings whose scheduled end falls in the window."""
    block = load_credentials(credentials_block)
    found = []
    for user_id in user_ids:
        for meeting in list_meetings.fn(block, user_id, type="previous_meetings"):
            end = ended_at(meeting)
            if end is not None and start <= end <= until:
                found.append(meeting_ended(meeting, end))
    return found


@zoom_task("list_meeting_registrants", name="Zoom: find new registrants", tags=("watch",))
def find_new_registrants(
    credentials_block: str, user_ids: list[str], start: datetime, until: datetime
) -> list[Found]:
    """Approved and pending registrants, registered in the window, of upcoming meetings that
    take registrants (a meeting without registration answers 404 and is passed over)."""
    block = load_credentials(credentials_block)
    found = []
    for user_id in user_ids:
        for meeting in list_meetings.fn(block, user_id, type="upcoming"):
            if meeting.type not in REGISTRATION_TYPES:
                continue
            try:
                for status in ("approved", "pending"):
                    for person in list_meeting_registrants.fn(block, meeting.id, status):
                        event = registration_created(meeting, person, until)
                        if event.when >= start:
                            found.append(event)
            except ZoomNotFoundError:  # registration is off (404), or the meeting just went
                continue
    return found


# ---- emitting ----------------------------------------------------------------------------------
def _account_id(credentials_block: str) -> str | None:
    """The account the events name: a Server-to-Server connection's account id (an OAuth
    connection's events carry the account of the recording when Zoom lists it)."""
    account = getattr(load_credentials(credentials_block), "account_id", None)
    return account if isinstance(account, str) and account else None


def emit_new(
    found: list[Found],
    cursor: WatchCursor,
    cursor_block: str,
    account_id: str | None,
    report: WatchReport,
) -> None:
    """Send each event the cursor has not seen to Prefect (``POST /events``, which answers once
    Prefect has it), noting it in the cursor; the cursor is saved even when a send fails."""
    send = PrefectEventSender()
    try:
        for item in sorted(found, key=lambda f: (f.when, f.key)):
            event_id = item.event_id
            if event_id in cursor.sent:
                report.already_sent += 1
                continue
            account = item.object.get("account_id") or account_id
            send(**as_prefect_event(item, account if isinstance(account, str) else None))
            cursor.sent[event_id] = item.when
            name = f"zoom.{item.event}"
            report.emitted[name] = report.emitted.get(name, 0) + 1
    finally:
        send.close()
        if found:
            save_cursor(cursor, cursor_block)


@flow(name="Zoom: watch for changes", log_prints=False)
def watch_zoom(
    credentials_block: str,
    cursor_block: str = "zoom-watch",
    user_ids: list[str] | None = None,
    watch: list[Watched] | None = None,
    lookback_hours: float = 24,
    wait_seconds: float = 10,
) -> WatchReport:
    """Emit the Prefect events of what happened in Zoom since the last run (see the module).

    ``user_ids``: whose meetings and recordings (``["me"]`` by default); ``watch``: some of
    ``recordings``, ``meetings``, ``registrants`` (all by default). The cursor is the
    ``WatchCursor`` block ``cursor_block``, moved only once a window's events are all in Prefect.
    A run that finds another holding the cursor waits ``wait_seconds``, then ends without doing
    anything (``skipped``). Safe to run again: events are never sent twice (see the module).
    """
    block_name = check_block_name(cursor_block)
    users = [check_user_id(u, "user_ids") for u in (user_ids or ["me"])]
    kinds = [check_choice(k, WATCHED, "watch") for k in (watch or list(WATCHED))]
    lookback = check_lookback(lookback_hours)
    if isinstance(wait_seconds, bool) or not isinstance(wait_seconds, (int, float)):
        raise ZoomInputError("wait_seconds", f"{wait_seconds!r} is not a number", "Pass seconds.")
    logger = run_logger()
    report = WatchReport(cursor_block=block_name)
    with watch_lock(block_name, float(wait_seconds)) as held:
        if not held:
            logger.info(
                "Another watch_zoom run holds the cursor %r; this run ends without emitting",
                block_name,
            )
            report.skipped = True
            return report
        cursor = load_cursor(block_name)
        until = datetime.now(UTC)
        start = cursor.window_start(until, lookback)
        report.window_start, report.window_end = start, until
        account_id = _account_id(credentials_block)
        hold_from: datetime | None = None
        for kind in kinds:
            if kind == "recordings":
                found, processing = find_completed_recordings(
                    credentials_block, users, start, until
                )
                hold_from, report.still_processing = min(processing, default=None), len(processing)
            elif kind == "meetings":
                found = find_ended_meetings(credentials_block, users, start, until)
            else:
                found = find_new_registrants(credentials_block, users, start, until)
            emit_new(found, cursor, block_name, account_id, report)
        cursor.advance(until, lookback, hold_from)
        save_cursor(cursor, block_name)
    logger.info(
        "Zoom from %s to %s: emitted %s; %d already sent earlier",
        start.isoformat(timespec="seconds"),
        until.isoformat(timespec="seconds"),
        ", ".join(f"{n} {name}" for name, n in sorted(report.emitted.items())) or "nothing",
        report.already_sent,
    )
    return report


__all__ = ["WatchReport", "watch_zoom"]
