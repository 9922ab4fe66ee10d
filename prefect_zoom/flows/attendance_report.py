"""The ``attendance_report`` flow: who attended a meeting, when and for how long, as a table
artifact and a CSV file per meeting instance.

Zoom lists a row per join; a person's rows (the same email, else the same Zoom user id, else the
same name) become one line: first join, last leave, minutes present (overlapping rows, such as
two devices, counted once) and the number of joins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from prefect import flow

from prefect_zoom.capabilities import can_run
from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.exceptions import ZoomInputError, ZoomMissingScopesError
from prefect_zoom.flows._support import publish_table, read_connection, write_csv
from prefect_zoom.flows.meetings_report import _users_to_report as users_to_report
from prefect_zoom.models import Participant
from prefect_zoom.tasks._common import run_logger
from prefect_zoom.tasks.attendance import (
    check_meeting_ref,
    list_past_meeting_instances,
    list_past_meeting_participants,
    report_meeting_participants,
)
from prefect_zoom.tasks.meetings import check_meeting_id, list_meetings

AttendanceView = Literal["past_meetings", "report"]
ARTIFACT_KEY = "zoom-attendance"
COLUMNS = (
    "meeting_id",
    "meeting_uuid",
    "instance_start",
    "name",
    "email",
    "first_join",
    "last_leave",
    "minutes",
    "joins",
)
MAX_LAST_DAYS = 31
VIEW_OPERATIONS: dict[str, str] = {
    "past_meetings": "list_past_meeting_participants",
    "report": "report_meeting_participants",
}


@dataclass(frozen=True)
class Instance:
    """One ended meeting instance to report on."""

    meeting_id: int | None
    uuid: str
    start_time: datetime | None = None

    @property
    def file_name(self) -> str:
        """A stable, filesystem-safe name from Zoom's ids: ``<meeting id>_<uuid digest>.csv``."""
        digest = hashlib.sha1(self.uuid.encode()).hexdigest()[:12]
        return f"{self.meeting_id or 'meeting'}_{digest}.csv"


def _person(row: Participant) -> str:
    return row.email.strip().lower() or row.id or row.name.strip().casefold()


def _present_seconds(stretches: Iterable[tuple[datetime, datetime]]) -> float:
    """Seconds covered by the stretches, overlaps counted once."""
    total, reach = 0.0, None
    for start, end in sorted(stretches):
        if reach is not None and start < reach:
            start = reach
        if end > start:
            total += (end - start).total_seconds()
        reach = end if reach is None else max(reach, end)
    return total


def merge_attendance(instance: Instance, rows: Iterable[Participant]) -> list[dict[str, Any]]:
    """One line per person of an instance: first join, last leave, minutes present, joins."""
    people: dict[str, list[Participant]] = {}
    for row in rows:
        people.setdefault(_person(row), []).append(row)
    lines = []
    for same in people.values():
        timed = [(r.join_time, r.leave_time) for r in same if r.join_time and r.leave_time]
        lines.append(
            {
                "meeting_id": instance.meeting_id,
                "meeting_uuid": instance.uuid,
                "instance_start": instance.start_time,
                "name": next((r.name for r in same if r.name), ""),
                "email": next((r.email for r in same if r.email), ""),
                "first_join": min((s for s, _ in timed), default=None),
                "last_leave": max((e for _, e in timed), default=None),
                "minutes": round(_present_seconds(timed) / 60, 1),
                "joins": len(same),
            }
        )
    lines.sort(
        key=lambda line: (line["first_join"] or datetime.max.replace(tzinfo=UTC), line["name"])
    )
    return lines


def _days_asked(day: date | None, last_days: int | None) -> tuple[date, date] | None:
    """The first and last UTC day asked for (``None`` when a meeting is asked for instead)."""
    if day is not None and last_days is not None:
        raise ZoomInputError(
            "last_days", "was given with day", "Pass a day or a number of last days, not both."
        )
    if last_days is not None:
        if isinstance(last_days, bool) or not 1 <= last_days <= MAX_LAST_DAYS:
            raise ZoomInputError(
                "last_days",
                f"{last_days!r} is not a number of days from 1 to {MAX_LAST_DAYS}",
                "Pass 7 for the last week (yesterday and the six days before it, UTC).",
            )
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        return yesterday - timedelta(days=last_days - 1), yesterday
    return (day, day) if day is not None else None


def _check_choice(
    meeting_id: int | None, meeting_uuid: str | None, days: tuple[date, date] | None
) -> tuple[int | None, str | None]:
    """The meeting number and instance UUID asked for, once exactly one way is chosen."""
    if days is not None and (meeting_id is not None or meeting_uuid is not None):
        raise ZoomInputError(
            "day",
            "days were given with meeting_id or meeting_uuid",
            "Pass days (every meeting of them) or a meeting, not both; nothing was read.",
        )
    if days is None and meeting_id is None and meeting_uuid is None:
        raise ZoomInputError(
            "meeting_id",
            "no meeting_id, meeting_uuid, day or last_days given",
            "Pass a meeting number (all its ended instances), a meeting_uuid (one instance), "
            "a day or last_days (every meeting of those days).",
        )
    number = check_meeting_id(meeting_id) if meeting_id is not None else None
    uuid = None
    if meeting_uuid is not None:
        uuid = str(check_meeting_ref(meeting_uuid, "meeting_uuid"))
    return number, uuid


def _check_view(credentials_block: str, view: str) -> str:
    """The view's operation, if the connection's scopes allow it (a clear error if not)."""
    if view not in VIEW_OPERATIONS:
        raise ZoomInputError(
            "view", f"{view!r} is not one of past_meetings, report", "Pick one of the two views."
        )
    operation = OPERATIONS[VIEW_OPERATIONS[view]]
    scopes = read_connection(credentials_block).scopes
    if scopes and not can_run(scopes, operation.name):
        other = "report" if view == "past_meetings" else "past_meetings"
        raise ZoomMissingScopesError(
            f"The connection may not read the {view} view of attendance.",
            missing_scopes=list(operation.granular_scopes),
            scopes_to_add=list(operation.scopes_to_add()),
            hint=(
                f"Add one of these scopes to the app: {', '.join(operation.scopes_to_add())}; "
                f"then reconnect. Or run with view='{other}' if the connection has its scopes."
            ),
        )
    return operation.name


def _instances_of_days(
    credentials_block: str, days: tuple[date, date], user_id: str | None
) -> list[Instance]:
    """Every ended instance that started within ``days`` (UTC, both included) of the user's (or
    each user's) meetings."""
    users = [user_id] if user_id else users_to_report(credentials_block, None)
    numbers = {
        meeting.id
        for user in users
        for meeting in list_meetings(credentials_block, user_id=user, type="previous_meetings")
    }
    found = []
    for number in sorted(numbers):
        for instance in list_past_meeting_instances(credentials_block, number):
            start = instance.start_time
            if start is not None and days[0] <= start.astimezone(UTC).date() <= days[1]:
                found.append(Instance(number, instance.uuid, start))
    return found


@flow(name="Zoom: attendance report")
def attendance_report(
    credentials_block: str,
    meeting_id: int | None = None,
    meeting_uuid: str | None = None,
    view: AttendanceView = "past_meetings",
    day: date | None = None,
    last_days: int | None = None,
    user_id: str | None = None,
    destination: str = "zoom-reports/attendance",
) -> list[str]:
    """Write who attended ended Zoom meetings, when they first joined and last left and for how
    many minutes, to a CSV file per meeting instance in `destination` and the table artifact
    `zoom-attendance`; return the CSV files' absolute paths.

    Choose one: `meeting_id` (every ended instance of that meeting), `meeting_uuid` (that
    instance; `meeting_id` may come with it and names the file), `day` (every meeting that
    started that UTC day) or `last_days` (7: yesterday and the six days before), of `user_id`
    or of every active user the connection may list.
    `view`: `past_meetings` (`meeting:read` scopes) or `report` (`report:read:admin`); both
    need a paid plan. Files are named from Zoom's ids (`<meeting id>_<uuid digest>.csv`) and
    written atomically: a re-run replaces them.
    """
    logger = run_logger()
    days = _days_asked(day, last_days)
    number, uuid = _check_choice(meeting_id, meeting_uuid, days)
    operation = _check_view(credentials_block, view)
    if uuid is not None:
        instances = [Instance(number, uuid)]
    elif number is not None:
        instances = [
            Instance(number, i.uuid, i.start_time)
            for i in list_past_meeting_instances(credentials_block, number)
        ]
    else:
        assert days is not None
        instances = _instances_of_days(credentials_block, days, user_id)
    participants = (
        list_past_meeting_participants
        if operation == "list_past_meeting_participants"
        else report_meeting_participants
    )
    folder = Path(destination).expanduser()
    paths, lines = [], []
    for instance in instances:
        merged = merge_attendance(instance, participants(credentials_block, instance.uuid))
        paths.append(write_csv(str(folder / instance.file_name), COLUMNS, merged))
        lines.extend(merged)
    description = (
        f"# Zoom attendance ({view} view)\n\n{len(lines)} attendee line(s) over "
        f"{len(instances)} meeting instance(s); CSV files in `{folder.resolve()}`."
    )
    publish_table(ARTIFACT_KEY, lines, COLUMNS, description)
    logger.info(
        "Zoom attendance report: %d line(s), %d instance(s) in %s",
        len(lines),
        len(instances),
        folder.resolve(),
    )
    return paths
