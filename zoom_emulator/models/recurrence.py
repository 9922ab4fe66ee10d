"""Recurrence arithmetic of Zoom meetings: times, series days and occurrences (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from zoom_emulator.models.errors import validation_failed
from zoom_emulator.models.inputs import RecurrenceIn
from zoom_emulator.models.state import zoom_time

MAX_OCCURRENCES = 60
MAX_REPEAT_INTERVAL = {1: 90, 2: 12, 3: 3}  # daily: 90 days, weekly: 12 weeks, monthly: 3 months
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_START_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$")


def zone(name: str) -> ZoneInfo:
    """A timezone by IANA name, or 300 on the ``timezone`` field."""
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):
        raise validation_failed(
            [{"field": "timezone", "message": f"Invalid timezone: {name}."}]
        ) from None


def parse_time(raw: str, tz: ZoneInfo, field: str) -> datetime:
    """``yyyy-MM-ddTHH:mm:ssZ`` (UTC), with an offset, or local time in ``tz``; as UTC.

    Years outside 1970..2099 are refused too, so series arithmetic never leaves the calendar.
    """
    invalid = validation_failed([{"field": field, "message": f"Invalid date-time: {raw}."}])
    if not _START_TIME.match(raw):
        raise invalid
    try:
        moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        moment = moment.astimezone(UTC).replace(microsecond=0)
    except (ValueError, OverflowError):
        raise invalid from None
    if not EARLIEST <= moment < LATEST:
        raise invalid
    return moment


def zoom_weekday(day: date) -> int:
    """Zoom's day of the week: 1 = Sunday … 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _month_length(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _nth_weekday(year: int, month: int, week: int, weekday: int) -> date:
    """The ``week``-th (``-1``: last) Zoom ``weekday`` of a month."""
    if week == -1:
        day = date(year, month, _month_length(year, month))
        while zoom_weekday(day) != weekday:
            day -= timedelta(days=1)
        return day
    day = date(year, month, 1)
    while zoom_weekday(day) != weekday:
        day += timedelta(days=1)
    return day + timedelta(weeks=week - 1)


def _dates(first: date, rec: dict[str, Any]) -> Iterator[date]:
    """Candidate days of a series in order, from ``first`` on (bounded, never endless)."""
    interval = rec["repeat_interval"]
    for step in range(0, 3660):
        if rec["type"] == 1:
            yield first + timedelta(days=step * interval)
        elif rec["type"] == 2:
            days = {int(d) for d in rec["weekly_days"].split(",")}
            sunday = first - timedelta(days=zoom_weekday(first) - 1)
            for offset in range(7):
                day = sunday + timedelta(weeks=step * interval, days=offset)
                if day >= first and zoom_weekday(day) in days:
                    yield day
        else:
            year, month = _add_months(first, step * interval)
            if "monthly_week" in rec:
                day = _nth_weekday(year, month, rec["monthly_week"], rec["monthly_week_day"])
            else:
                day = date(year, month, min(rec["monthly_day"], _month_length(year, month)))
            if day >= first:
                yield day


def normalize_recurrence(rec: RecurrenceIn, start: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Check a recurrence's cross-field rules and fill Zoom's defaults from the start time."""
    errors = []
    given = rec.model_dump(exclude_none=True)
    if rec.end_times is not None and rec.end_date_time is not None:
        message = "end_times and end_date_time cannot be used together."
        errors.append({"field": "recurrence.end_date_time", "message": message})
    if rec.repeat_interval is not None and rec.repeat_interval > MAX_REPEAT_INTERVAL[rec.type]:
        message = f"must be at most {MAX_REPEAT_INTERVAL[rec.type]} for this recurrence type."
        errors.append({"field": "recurrence.repeat_interval", "message": message})
    if (rec.monthly_week is None) != (rec.monthly_week_day is None):
        message = "monthly_week and monthly_week_day must be used together."
        errors.append({"field": "recurrence.monthly_week", "message": message})
    if rec.end_date_time is not None:
        end = parse_time(rec.end_date_time, tz, "recurrence.end_date_time")
        if end < start:
            message = "end_date_time must not be before start_time."
            errors.append({"field": "recurrence.end_date_time", "message": message})
        given["end_date_time"] = zoom_time(end)
    if errors:
        raise validation_failed(errors)
    local = start.astimezone(tz)
    normal: dict[str, Any] = {"type": rec.type, "repeat_interval": rec.repeat_interval or 1}
    if rec.type == 2:
        normal["weekly_days"] = rec.weekly_days or str(zoom_weekday(local.date()))
    if rec.type == 3:
        if rec.monthly_week is not None:
            normal["monthly_week"] = rec.monthly_week
            normal["monthly_week_day"] = rec.monthly_week_day
        else:
            normal["monthly_day"] = rec.monthly_day or local.day
    if "end_date_time" in given:
        normal["end_date_time"] = given["end_date_time"]
    else:
        normal["end_times"] = rec.end_times or 1
    return normal


def compute_occurrences(
    start: datetime, tz: ZoneInfo, rec: dict[str, Any], duration: int
) -> list[dict[str, Any]]:
    """The occurrences of a fixed-time series (at most 60), each at the start's local time."""
    local = start.astimezone(tz)
    end = None
    if "end_date_time" in rec:
        end = datetime.fromisoformat(rec["end_date_time"].replace("Z", "+00:00"))
    limit = min(rec.get("end_times", MAX_OCCURRENCES), MAX_OCCURRENCES)
    found = []
    for day in _dates(local.date(), rec):
        moment = datetime.combine(day, local.time(), tzinfo=tz).astimezone(UTC)
        if end is not None and moment > end:
            break
        found.append(
            {
                "occurrence_id": str(int(moment.timestamp() * 1000)),
                "start_time": zoom_time(moment),
                "duration": duration,
                "status": "available",
            }
        )
        if len(found) >= limit:
            break
    return found
