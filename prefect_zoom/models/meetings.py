"""Meetings: what a create or update sends, and what Zoom answers."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Literal

from pydantic import Field, field_serializer, field_validator, model_validator

from prefect_zoom.models._base import ZoomModel

ZOOM_TIME = "%Y-%m-%dT%H:%M:%SZ"
LOCAL_TIME = "%Y-%m-%dT%H:%M:%S"


class MeetingType(IntEnum):
    """Zoom's meeting types."""

    INSTANT = 1
    SCHEDULED = 2
    RECURRING_NO_FIXED_TIME = 3
    RECURRING_FIXED_TIME = 8


class RecurrenceType(IntEnum):
    DAILY = 1
    WEEKLY = 2
    MONTHLY = 3


WEEKDAYS = {
    "sunday": 1,
    "monday": 2,
    "tuesday": 3,
    "wednesday": 4,
    "thursday": 5,
    "friday": 6,
    "saturday": 7,
}


class Recurrence(ZoomModel):
    """How a meeting repeats: daily, weekly (on week days) or monthly (a day, or a week's day).

    Week days are 1 (Sunday) to 7 (Saturday), or their English names. End by ``end_times``
    (occurrences, at most 60, as Zoom's spec says) or by ``end_date_time``, not both.
    """

    type: RecurrenceType
    repeat_interval: int = Field(
        1, ge=1, description="Every N days (≤ 90), weeks (≤ 12) or months (≤ 3)."
    )
    weekly_days: list[int] | None = Field(
        None, description="Week days for weekly meetings, 1 = Sunday."
    )
    monthly_day: int | None = Field(None, ge=1, le=31)
    monthly_week: Literal[-1, 1, 2, 3, 4] | None = Field(None, description="-1 is the last week.")
    monthly_week_day: int | None = Field(None, ge=1, le=7)
    end_times: int | None = Field(None, ge=1, le=60)
    end_date_time: datetime | None = None

    @field_validator("weekly_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [WEEKDAYS.get(str(v).lower(), v) for v in value]
        return value

    @field_validator("weekly_days")
    @classmethod
    def _days_in_range(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or any(not 1 <= day <= 7 for day in value)):
            raise ValueError("week days must be 1 (Sunday) to 7 (Saturday), at least one")
        return sorted(set(value)) if value else value

    @model_validator(mode="after")
    def _makes_sense(self) -> Recurrence:
        limits = {RecurrenceType.DAILY: 90, RecurrenceType.WEEKLY: 12, RecurrenceType.MONTHLY: 3}
        if self.repeat_interval > limits[self.type]:
            raise ValueError(
                f"repeat_interval {self.repeat_interval} is over Zoom's limit of "
                f"{limits[self.type]} for a {self.type.name.lower()} recurrence"
            )
        if self.end_times is not None and self.end_date_time is not None:
            raise ValueError("give end_times or end_date_time, not both")
        if self.type is RecurrenceType.WEEKLY and not self.weekly_days:
            raise ValueError("a weekly recurrence needs weekly_days (1 = Sunday … 7 = Saturday)")
        if self.type is not RecurrenceType.WEEKLY and self.weekly_days:
            raise ValueError("weekly_days only applies to a weekly recurrence")
        if self.type is RecurrenceType.MONTHLY:
            by_day = self.monthly_day is not None
            by_week = self.monthly_week is not None or self.monthly_week_day is not None
            if by_day == by_week:
                raise ValueError(
                    "a monthly recurrence needs either monthly_day, or monthly_week with "
                    "monthly_week_day"
                )
            if by_week and (self.monthly_week is None or self.monthly_week_day is None):
                raise ValueError("monthly_week and monthly_week_day go together")
        elif self.monthly_day or self.monthly_week or self.monthly_week_day:
            raise ValueError("monthly_day / monthly_week only apply to a monthly recurrence")
        if self.end_date_time is not None and self.end_date_time.tzinfo is None:
            raise ValueError("end_date_time needs a time zone (e.g. 2026-12-31T23:59:59Z)")
        return self

    @field_serializer("weekly_days")
    def _days_out(self, value: list[int] | None) -> str | None:
        return ",".join(str(day) for day in value) if value else None

    @field_serializer("end_date_time")
    def _end_out(self, value: datetime | None) -> str | None:
        return value.astimezone(UTC).strftime(ZOOM_TIME) if value else None


class MeetingSettings(ZoomModel):
    """Common meeting settings; any other Zoom setting can be passed too and is kept."""

    host_video: bool | None = None
    participant_video: bool | None = None
    join_before_host: bool | None = None
    waiting_room: bool | None = None
    mute_upon_entry: bool | None = None
    auto_recording: Literal["local", "cloud", "none"] | None = None
    approval_type: Literal[0, 1, 2] | None = Field(
        None, description="0 automatic, 1 manual registration approval, 2 no registration."
    )


class MeetingRequest(ZoomModel):
    """The body of a create (or the fields of an update).

    ``start_time`` is either aware (sent as UTC, ``…Z``) or naive with ``timezone`` naming the
    zone it is in; a naive time with no ``timezone`` is refused, since Zoom would guess.
    """

    topic: str | None = Field(None, max_length=200)
    type: MeetingType | None = None
    start_time: datetime | None = None
    duration: int | None = Field(None, ge=0, description="Minutes.")
    timezone: str | None = Field(None, description="IANA zone, e.g. Europe/Berlin.")
    password: str | None = Field(None, max_length=10, description="At most 10 characters.")
    agenda: str | None = Field(None, max_length=2000)
    schedule_for: str | None = None
    recurrence: Recurrence | None = None
    settings: MeetingSettings | None = None

    @field_validator("password")
    @classmethod
    def _password(cls, value: str | None) -> str | None:
        if value is not None and not all(c.isalnum() or c in "@-_*" for c in value):
            raise ValueError("may only hold letters, digits and @ - _ *")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MeetingRequest:
        if self.start_time is not None and self.start_time.tzinfo is None and not self.timezone:
            raise ValueError(
                "start_time has no time zone: give an aware time (e.g. ending in Z) or set "
                "timezone to the zone it is in"
            )
        if self.type is MeetingType.RECURRING_FIXED_TIME and self.recurrence is None:
            raise ValueError("a recurring meeting with a fixed time (type 8) needs recurrence")
        if self.recurrence is not None and self.type in (
            MeetingType.INSTANT,
            MeetingType.SCHEDULED,
        ):
            raise ValueError("recurrence needs type 8 (or 3); this meeting is not recurring")
        if self.type is MeetingType.RECURRING_FIXED_TIME and self.start_time is None:
            raise ValueError("a recurring meeting with a fixed time (type 8) needs start_time")
        return self

    @field_serializer("start_time")
    def _start_out(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.strftime(LOCAL_TIME)
        return value.astimezone(UTC).strftime(ZOOM_TIME)


class Occurrence(ZoomModel):
    occurrence_id: str
    start_time: datetime
    duration: int | None = None
    status: str | None = None


class Meeting(ZoomModel):
    """A meeting as Zoom answers it; ``id`` is an int (Zoom's int64), ``uuid`` may be absent."""

    id: int
    uuid: str | None = None
    host_id: str | None = None
    host_email: str | None = None
    topic: str | None = None
    type: int | None = None
    status: str | None = None
    start_time: datetime | None = None
    duration: int | None = None
    timezone: str | None = None
    agenda: str | None = None
    join_url: str | None = None
    password: str | None = None
    occurrences: list[Occurrence] = Field(default_factory=list)

    def __repr_args__(self) -> Any:
        # start_url lets anyone start the meeting as its host: keep it out of reprs and logs.
        return [(k, v) for k, v in super().__repr_args__() if k not in ("start_url", "password")]


class ScheduledMeeting(ZoomModel):
    """What a keyed schedule did: created ``meeting`` now, or found it from an earlier run.

    A meeting found again comes from Zoom's list of meetings: it has no ``occurrences`` and
    no passcode, and its ``agenda`` may be cut to 250 characters.
    """

    meeting: Meeting
    key: str
    already_scheduled: bool = False


class InviteLink(ZoomModel):
    name: str
    join_url: str


class Registrant(ZoomModel):
    """Someone registered for a meeting (what Zoom answers to an add)."""

    id: int | None = Field(None, description="The meeting's id.")
    registrant_id: str | None = None
    join_url: str | None = None
    topic: str | None = None
    start_time: datetime | None = None


class RegistrantRequest(ZoomModel):
    email: str = Field(..., pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    first_name: str = Field(..., min_length=1, max_length=64)
    last_name: str | None = Field(None, max_length=64)


class Webinar(Meeting):
    """A webinar as Zoom answers it: a meeting's fields, ``type`` 5 (one-time), 6 or 9
    (recurring)."""
