"""The ``schedule_meetings`` flow: one-time and recurring meetings from a list or a CSV file.

Each row becomes one meeting (``schedule_meeting_once``: one-time, or recurring with a fixed
time), with personal invitation links when asked. Safe to run again: a row whose meeting an
earlier run made (same host, topic, start and recurrence: the key in the agenda's first line) is
``already scheduled``, and invitation links still valid are not made again (they are recorded
in the Prefect variable ``zoom-invite-links-<meeting id>``). A bad row fails alone; rows over a
host's daily allowance are skipped, not sent. Results never hold start URLs or passcodes.
"""

from __future__ import annotations

import csv
import hashlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect import flow
from prefect.futures import PrefectFuture
from prefect.variables import Variable
from pydantic import BaseModel

from prefect_zoom.exceptions import AllRowsFailedError, ZoomInputError, ZoomRateLimitError
from prefect_zoom.flows._support import (
    describe_error,
    publish_table,
    task_outcome,
    without_passcode,
)
from prefect_zoom.models import InviteLink, Meeting, Recurrence, ScheduledMeeting, parse_input
from prefect_zoom.tasks._rerun import key_in
from prefect_zoom.tasks.meetings import (
    InviteLinksInput,
    check_user_id,
    create_invitation_links,
    keyed_request,
    list_meetings,
    run_logger,
    schedule_meeting_once,
)

ARTIFACT_KEY = "zoom-scheduled-meetings"
ZOOM_DAILY_LIMIT = 100
"""Zoom allows 100 meeting creates/updates a day per host (reset at 00:00 UTC)."""
PER_HOST_AT_ONCE = 4
"""Rows of one host sent at the same time (hosts run side by side)."""
DEFAULT_DURATION = 60
INVITE_TTL_SECONDS = 7200
"""How long the flow's invitation links stay valid (Zoom's default)."""
LINKS_VARIABLE = "zoom-invite-links-{meeting_id}"
"""The Prefect variable recording whose links a meeting has, and until when they are valid."""

COLUMNS = (
    "topic",
    "start_time",
    "duration",
    "timezone",
    "host",
    "recurrence_type",
    "repeat_interval",
    "weekly_days",
    "monthly_day",
    "end_times",
    "end_date_time",
    "password",
    "agenda",
    "invitees",
)
RECURRENCE_COLUMNS = (
    "repeat_interval",
    "weekly_days",
    "monthly_day",
    "end_times",
    "end_date_time",
)
RECURRENCE_TYPES = {"daily": 1, "weekly": 2, "monthly": 3, "1": 1, "2": 2, "3": 3}
RESULT_COLUMNS = (
    "row",
    "topic",
    "host",
    "status",
    "meeting_id",
    "join_url",
    "occurrences",
    "invite_links",
    "error",
)
Status = Literal["created", "already scheduled", "failed", "skipped"]
STATUSES: tuple[Status, ...] = ("created", "already scheduled", "failed", "skipped")


class RowResult(BaseModel):
    """What happened to one row (no start URL, no passcode).

    ``invite_links`` counts the links this run made; ``occurrences`` is ``None`` for a meeting
    found from an earlier run (Zoom's list does not give them).
    """

    row: int
    topic: str | None = None
    host: str = "me"
    status: Status
    meeting_id: int | None = None
    join_url: str | None = None
    occurrences: int | None = 0
    invite_links: int = 0
    error: str | None = None


@dataclass
class _Row:
    """A checked row, ready to send."""

    number: int
    topic: str
    host: str
    recurrence: Recurrence | None
    key: str
    task_kwargs: dict[str, Any]
    invitees: list[str] = field(default_factory=list)


# ---- reading rows -------------------------------------------------------------------------------
def _field_of(error: ZoomInputError) -> str:
    """The column a model error is about (``meeting.password`` → ``password``)."""
    name = error.field
    for prefix in ("meeting.recurrence.", "meeting.", "recurrence."):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if name == "duration_minutes":
        return "duration"
    if name.startswith("attendee_names"):
        return "invitees"
    return name


def _value(raw: Mapping[str, Any], column: str) -> Any:
    value = raw.get(column)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _int(raw: Mapping[str, Any], column: str, default: int | None = None) -> int | None:
    value = _value(raw, column)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise ZoomInputError(column, f"{value!r} is not a whole number", "Give digits only.")


def _datetime(raw: Mapping[str, Any], column: str) -> datetime | None:
    value = _value(raw, column)
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ZoomInputError(
            column,
            f"{value!r} is not an ISO 8601 date-time",
            "Write it like 2030-05-17T15:00:00Z, or 2030-05-17T15:00 with a timezone column.",
        ) from None


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    parts = value.split(";") if isinstance(value, str) else list(value)
    return [str(part).strip() for part in parts if str(part).strip()]


def _recurrence(raw: Mapping[str, Any]) -> Recurrence | None:
    kind = _value(raw, "recurrence_type")
    if kind is None:
        for column in RECURRENCE_COLUMNS:
            if _value(raw, column) is not None:
                raise ZoomInputError(
                    column,
                    "is set but recurrence_type is empty",
                    "Set recurrence_type to daily, weekly or monthly, or clear this column.",
                )
        return None
    code = RECURRENCE_TYPES.get(str(kind).lower())
    if code is None:
        raise ZoomInputError(
            "recurrence_type", f"{kind!r} is not daily, weekly or monthly", "Pick one of them."
        )
    weekly_days = _value(raw, "weekly_days")
    if isinstance(weekly_days, str):
        weekly_days = weekly_days.replace(";", ",")
    data = {
        "type": code,
        "repeat_interval": _int(raw, "repeat_interval", 1),
        "weekly_days": weekly_days,
        "monthly_day": _int(raw, "monthly_day"),
        "end_times": _int(raw, "end_times"),
        "end_date_time": _datetime(raw, "end_date_time"),
    }
    given = {k: v for k, v in data.items() if v is not None}
    return parse_input(Recurrence, given, prefix="recurrence")


def parse_row(number: int, raw: Mapping[str, Any], extra_invitees: Iterable[str] = ()) -> _Row:
    """Check one row as a person wrote it; raise ``ZoomInputError`` naming the bad column."""
    unknown = sorted(str(key) for key in raw if key not in COLUMNS)
    if unknown:
        if "None" in unknown:
            raise ZoomInputError("row", "has more cells than the header", "Remove the extra cells.")
        raise ZoomInputError(
            unknown[0], "is not a known column", f"Use only these columns: {', '.join(COLUMNS)}."
        )
    try:
        topic = _value(raw, "topic")
        host = _value(raw, "host") or "me"
        check_user_id(host, "host")
        timezone = _value(raw, "timezone")
        if timezone is not None:
            try:
                ZoneInfo(str(timezone))
            except (ZoneInfoNotFoundError, ValueError):
                raise ZoomInputError(
                    "timezone",
                    f"{timezone!r} is not a known time zone",
                    "Use an IANA name such as Europe/Berlin or America/New_York.",
                ) from None
        recurrence = _recurrence(raw)
        kwargs: dict[str, Any] = {
            "topic": topic,
            "start_time": _datetime(raw, "start_time"),
            "duration_minutes": _int(raw, "duration", DEFAULT_DURATION),
            "timezone": timezone,
            "password": _value(raw, "password"),
            "agenda": _value(raw, "agenda"),
            "user_id": host,
        }
        # the same checks the task makes, so a bad row never takes a place in the host's quota
        _, key = keyed_request(**kwargs, recurrence=recurrence)
        invitees = list(dict.fromkeys([*_names(_value(raw, "invitees")), *extra_invitees]))
        if invitees:
            parse_input(InviteLinksInput, {"attendee_names": invitees})
    except ZoomInputError as error:
        raise ZoomInputError(_field_of(error), error.problem, error.fix) from None
    if recurrence is not None:
        kwargs["recurrence"] = recurrence
    return _Row(number, str(topic), str(host), recurrence, key, kwargs, invitees)


def read_rows(meetings: list[dict[str, Any]] | None, csv_path: str | None) -> list[dict[str, Any]]:
    """The rows to schedule, from the list or the CSV file (exactly one of them)."""
    if (meetings is None) == (csv_path is None):
        raise ZoomInputError(
            "meetings",
            "give either meetings or csv_path" + (", not both" if meetings is not None else ""),
            "Pass a list of meeting rows, or the path of a CSV file with a header row.",
        )
    if csv_path is not None:
        path = Path(csv_path).expanduser()
        if not path.is_file():
            raise ZoomInputError(
                "csv_path", f"no file at {str(path)!r}", "Give the path of a CSV file."
            )
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows: list[dict[str, Any]] = [dict(row) for row in csv.DictReader(handle)]
    else:
        rows = list(meetings or [])
    if not rows:
        raise ZoomInputError("meetings", "there are no rows", "Give at least one meeting.")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise ZoomInputError(f"meetings[{number}]", "is not a mapping", "Give column: value.")
    return rows


# ---- results ------------------------------------------------------------------------------------
def _daily_limit_message(host: str, error: ZoomRateLimitError) -> str:
    when = error.reset_at.isoformat() if error.reset_at else "00:00 UTC"
    return f"Zoom's daily limit of meeting creates for host {host} was reached; it resets at {when}"


# ---- what earlier runs did ----------------------------------------------------------------------
def _earlier_meetings(
    credentials_block: str, hosts: Iterable[str]
) -> dict[str, dict[str, Meeting] | BaseException]:
    """Per host (lower case): the keyed meetings earlier runs made, or why they can't be listed."""
    futures = {
        host.lower(): list_meetings.submit(credentials_block, user_id=host, type="scheduled")
        for host in hosts
    }
    found: dict[str, dict[str, Meeting] | BaseException] = {}
    for host, future in futures.items():
        meetings, error = task_outcome(future)
        if error is not None:
            found[host] = error
            continue
        keyed: dict[str, Meeting] = {}
        for meeting in sorted(meetings, key=lambda m: m.id):
            key = key_in(meeting.agenda)
            if key is not None:
                keyed.setdefault(key, meeting)
        found[host] = keyed
    return found


def _names_digest(names: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(names)).encode("utf-8")).hexdigest()


def _links_still_valid(meeting_id: int, names: list[str]) -> datetime | None:
    """Until when the links an earlier run made for these names are valid (``None``: make them)."""
    try:
        record = Variable.get(LINKS_VARIABLE.format(meeting_id=meeting_id), default=None)
    except Exception as error:  # the record is a convenience: without it, links are made again
        run_logger().warning("Could not read the invitation links record: %s", error)
        return None
    if not isinstance(record, dict) or record.get("names") != _names_digest(names):
        return None
    try:
        until = datetime.fromisoformat(str(record.get("until")))
    except ValueError:
        return None
    return until if until.tzinfo is not None and until > datetime.now(UTC) else None


def _record_links(meeting_id: int, names: list[str], made_at: datetime) -> None:
    """Remember that links for these names exist, so a re-run does not make them again."""
    until = made_at + timedelta(seconds=INVITE_TTL_SECONDS)
    record = {"names": _names_digest(names), "until": until.isoformat()}
    try:
        Variable.set(LINKS_VARIABLE.format(meeting_id=meeting_id), record, overwrite=True)
    except Exception as error:
        run_logger().warning(
            "Could not record the invitation links of meeting %s (a re-run makes them again): %s",
            meeting_id,
            error,
        )


def _log(result: RowResult) -> None:
    logger = run_logger()
    if result.status in ("created", "already scheduled"):
        logger.info(
            "Row %d (%r): %s, meeting %s",
            result.row,
            result.topic,
            result.status,
            result.meeting_id,
        )
    else:
        logger.warning("Row %d (%r): %s: %s", result.row, result.topic, result.status, result.error)


@dataclass
class _Run:
    """One run's rows on their way: what became of each, and which need invitation links."""

    credentials_block: str
    include_passcodes: bool
    results: dict[int, RowResult] = field(default_factory=dict)
    invite: list[tuple[_Row, int]] = field(default_factory=list)

    def done(
        self, row: _Row, status: Status, meeting: Meeting | None = None, **fields: Any
    ) -> None:
        """Record a row's outcome (a meeting's join URL without its passcode unless asked)."""
        if meeting is not None:
            fields["meeting_id"] = meeting.id
            url = meeting.join_url
            fields["join_url"] = url if self.include_passcodes else without_passcode(url)
            if row.invitees:
                self.invite.append((row, meeting.id))
        self.results[row.number] = RowResult(
            row=row.number, topic=row.topic, host=row.host, status=status, **fields
        )

    def plan(self, rows: list[_Row], daily_limit: int) -> dict[str, deque[_Row]]:
        """Settle the rows earlier runs did (or that repeat a row); queue the others by host."""
        earlier = _earlier_meetings(
            self.credentials_block, {row.host.lower(): row.host for row in rows}.values()
        )
        first_of_key: dict[str, int] = {}
        queues: dict[str, deque[_Row]] = {}
        for row in rows:
            host = row.host.lower()
            known = earlier[host]
            if isinstance(known, BaseException):
                self.done(row, "failed", error=describe_error(known))
            elif row.key in first_of_key:
                self.done(
                    row,
                    "skipped",
                    error=f"the same meeting as row {first_of_key[row.key]} (same host, topic, "
                    "start and recurrence)",
                )
            elif row.key in known:
                first_of_key[row.key] = row.number
                self.done(row, "already scheduled", known[row.key], occurrences=None)
            elif len(queue := queues.setdefault(host, deque())) >= daily_limit:
                first_of_key[row.key] = row.number
                self.done(
                    row,
                    "skipped",
                    error=f"daily limit of {daily_limit} meetings for host {row.host} in this "
                    "run (daily_limit_per_host)",
                )
            else:
                first_of_key[row.key] = row.number
                queue.append(row)
        return queues

    def send(self, queues: dict[str, deque[_Row]]) -> None:
        """Schedule the queued rows, a few per host at a time; a daily-limit 429 ends a host."""
        while any(queues.values()):
            wave: list[tuple[_Row, PrefectFuture[ScheduledMeeting]]] = []
            for queue in queues.values():
                for _ in range(min(PER_HOST_AT_ONCE, len(queue))):
                    row = queue.popleft()
                    future = schedule_meeting_once.submit(self.credentials_block, **row.task_kwargs)
                    wave.append((row, future))
            for row, future in wave:
                outcome, error = task_outcome(future)
                if isinstance(outcome, ScheduledMeeting):
                    meeting, again = outcome.meeting, outcome.already_scheduled
                    status: Status = "already scheduled" if again else "created"
                    occurrences = None if again else len(meeting.occurrences)
                    self.done(row, status, meeting, occurrences=occurrences)
                elif isinstance(error, ZoomRateLimitError) and error.limit_type == "Daily-limit":
                    message = _daily_limit_message(row.host, error)
                    self.done(row, "skipped", error=message)
                    rest = queues[row.host.lower()]
                    while rest:
                        self.done(rest.popleft(), "skipped", error=message)
                else:
                    self.done(row, "failed", error=describe_error(error))

    def make_links(self) -> None:
        """Invitation links for the rows that ask, unless valid ones from an earlier run exist."""
        futures: list[tuple[_Row, int, datetime, PrefectFuture[list[InviteLink]]]] = []
        for row, meeting_id in self.invite:
            if self.results[row.number].status == "already scheduled":
                until = _links_still_valid(meeting_id, row.invitees)
                if until is not None:
                    run_logger().info(
                        "Row %d: the invitation links made earlier stay valid until %s; none made",
                        row.number,
                        until.isoformat(),
                    )
                    continue
            made_at = datetime.now(UTC)
            links = create_invitation_links.submit(
                self.credentials_block, meeting_id, row.invitees, INVITE_TTL_SECONDS
            )
            futures.append((row, meeting_id, made_at, links))
        for row, meeting_id, made_at, future in futures:
            links, error = task_outcome(future)
            result = self.results[row.number]
            if error is not None:
                result.error = (
                    f"meeting scheduled, but invitation links failed: {describe_error(error)}"
                )
            else:
                result.invite_links = len(links or [])
                _record_links(meeting_id, row.invitees, made_at)


# ---- the flow -----------------------------------------------------------------------------------
@flow(name="Zoom: schedule meetings")
def schedule_meetings(
    credentials_block: str,
    meetings: list[dict[str, Any]] | None = None,
    csv_path: str | None = None,
    *,
    invitation_links_for: list[str] | None = None,
    daily_limit_per_host: int = ZOOM_DAILY_LIMIT,
    include_passcodes: bool = False,
) -> list[RowResult]:
    """Schedule Zoom meetings from rows (a list of dicts, or a CSV file): one-time, or recurring
    when `recurrence_type` is daily/weekly/monthly, with invitation links for `invitees`.

    Safe to run again: rows an earlier run scheduled are `already scheduled`, not made twice.
    A bad row fails alone; rows beyond `daily_limit_per_host` (and every row of a host after
    Zoom's daily-limit 429) are skipped. Join URLs lose their `pwd=` passcode unless
    `include_passcodes`. Publishes the table artifact `zoom-scheduled-meetings`.
    The run fails only when every row failed.
    """
    logger = run_logger()
    if isinstance(daily_limit_per_host, bool) or daily_limit_per_host < 1:
        raise ZoomInputError(
            "daily_limit_per_host", "must be at least 1", "Zoom allows 100 a day per host."
        )
    raw_rows = read_rows(meetings, csv_path)
    extra = _names(invitation_links_for)
    run = _Run(credentials_block, include_passcodes)
    rows: list[_Row] = []
    for number, raw in enumerate(raw_rows, start=1):
        try:
            rows.append(parse_row(number, raw, extra))
        except ZoomInputError as problem:
            topic = _value(raw, "topic")
            run.results[number] = RowResult(
                row=number,
                topic=None if topic is None else str(topic),
                host=str(_value(raw, "host") or "me"),
                status="failed",
                error=describe_error(problem),
            )
    run.send(run.plan(rows, daily_limit_per_host))
    run.make_links()

    ordered = [run.results[number] for number in sorted(run.results)]
    for result in ordered:
        _log(result)
    counts = {status: sum(1 for r in ordered if r.status == status) for status in STATUSES}
    summary = (
        f"{counts['created']} of {len(ordered)} meeting(s) created, "
        f"{counts['already scheduled']} already scheduled, {counts['failed']} failed, "
        f"{counts['skipped']} skipped"
    )
    publish_table(
        ARTIFACT_KEY,
        [result.model_dump() for result in ordered],
        RESULT_COLUMNS,
        f"# Zoom meetings scheduled\n\n{summary}.",
    )
    logger.info("Scheduled Zoom meetings: %s", summary)
    if counts["failed"] == len(ordered):
        first = ordered[0].error
        raise AllRowsFailedError(f"every row failed ({summary}); row 1: {first}")
    return ordered
