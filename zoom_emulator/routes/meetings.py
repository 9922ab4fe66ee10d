"""Emulator routes: meetings, their invite links, invitation text and registrants.

Meetings live in ``state.meetings`` (by integer id) as the full body of the create answer. Inputs
are checked as Zoom checks them, strictly typed (a number sent as a string is refused): any bad
field answers HTTP 400 code 300 "Validation Failed." with ``errors: [{"field", "message"}]``.

Choices where Zoom is vague, documented here:

* ``recurrence.end_times`` is at most 60 (the OpenAPI spec's maximum), and a recurring meeting
  lists at most 60 occurrences, also when it ends by ``end_date_time``;
* registration needs ``settings.approval_type`` 0 or 1 on a scheduled (2) or fixed-time
  recurring (8) meeting; otherwise ``POST …/registrants`` answers 404 code 404
  "Registration has not been enabled for this meeting: {id}." (Zoom's answer). Types 1 and 3 store
  ``approval_type`` 2 whatever was asked, as Zoom does;
* a user-level token without an ``:admin`` scope may not touch another user's meeting:
  400 code 3000 "Cannot access meeting info."; a meeting on another account is 404 code 3001;
* ``PATCH`` with ``occurrence_id`` moves only that occurrence's ``start_time``/``duration``; the
  other fields change the whole series;
* a listed meeting carries the spec's list fields only, its ``agenda`` cut to 250 characters
  (as the spec says; ``GET /meetings/{id}`` has all of it).
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zoom_emulator.models.access import Caller, may_act_for, resolve_user
from zoom_emulator.models.errors import ZoomError, meeting_not_found, validation_failed
from zoom_emulator.models.operations import Operation, operations
from zoom_emulator.models.paging import paginate
from zoom_emulator.models.seed import meeting_uuid
from zoom_emulator.models.state import EmulatorState, User, utcnow, zoom_time
from zoom_emulator.routes.auth import caller_for, state_of

router = APIRouter()

WEB = "https://emulator.zoom.us"
MAX_END_TIMES = 60
MAX_OCCURRENCES = 60
MAX_REPEAT_INTERVAL = {1: 90, 2: 12, 3: 3}  # daily: 90 days, weekly: 12 weeks, monthly: 3 months
DEFAULT_DURATION = 60
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
BAD_JSON = "Request Body should be a valid JSON object."
CANNOT_ACCESS = "Cannot access meeting info."
INVALID_OCCURRENCE = "Invalid occurrence_id."
PASSWORD_PATTERN = r"^[A-Za-z0-9@_*\-]*$"
_START_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$")

DEFAULT_SETTINGS: dict[str, Any] = {
    "host_video": False,
    "participant_video": False,
    "cn_meeting": False,
    "in_meeting": False,
    "join_before_host": False,
    "jbh_time": 0,
    "mute_upon_entry": False,
    "watermark": False,
    "use_pmi": False,
    "approval_type": 2,
    "registration_type": 1,
    "audio": "voip",
    "auto_recording": "none",
    "enforce_login": False,
    "enforce_login_domains": "",
    "alternative_hosts": "",
    "alternative_host_update_polls": False,
    "alternative_hosts_email_notification": True,
    "close_registration": False,
    "show_share_button": False,
    "allow_multiple_devices": False,
    "registrants_confirmation_email": True,
    "registrants_email_notification": True,
    "waiting_room": False,
    "meeting_authentication": False,
    "encryption_type": "enhanced_encryption",
    "approved_or_denied_countries_or_regions": {"enable": False},
    "breakout_room": {"enable": False},
    "internal_meeting": False,
    "continuous_meeting_chat": {"enable": False, "auto_add_invited_external_users": False},
    "participant_focused_meeting": False,
    "push_change_to_calendar": False,
    "email_notification": True,
    "focus_mode": False,
    "private_meeting": False,
    "host_save_video_order": False,
    "sign_language_interpretation": {"enable": False},
    "global_dial_in_countries": ["US"],
}

# ---- request bodies ----------------------------------------------------------------------------


class _Body(BaseModel):
    """Strict JSON types; unknown fields are ignored as Zoom ignores them."""

    model_config = ConfigDict(strict=True, extra="ignore")


class RecurrenceIn(_Body):
    type: Literal[1, 2, 3]
    repeat_interval: int | None = Field(None, ge=1)
    weekly_days: str | None = Field(None, pattern=r"^[1-7](,[1-7])*$")
    monthly_day: int | None = Field(None, ge=1, le=31)
    monthly_week: Literal[-1, 1, 2, 3, 4] | None = None
    monthly_week_day: Literal[1, 2, 3, 4, 5, 6, 7] | None = None
    end_times: int | None = Field(None, ge=1, le=MAX_END_TIMES)
    end_date_time: str | None = None


class SettingsIn(_Body):
    """The settings the pack uses, typed; any other setting is kept as sent."""

    model_config = ConfigDict(strict=True, extra="allow")

    host_video: bool | None = None
    participant_video: bool | None = None
    join_before_host: bool | None = None
    jbh_time: Literal[0, 5, 10] | None = None
    mute_upon_entry: bool | None = None
    waiting_room: bool | None = None
    watermark: bool | None = None
    use_pmi: bool | None = None
    approval_type: Literal[0, 1, 2] | None = None
    registration_type: Literal[1, 2, 3] | None = None
    audio: Literal["both", "telephony", "voip", "thirdParty"] | None = None
    auto_recording: Literal["local", "cloud", "none"] | None = None
    alternative_hosts: str | None = None
    meeting_authentication: bool | None = None
    email_notification: bool | None = None
    private_meeting: bool | None = None
    close_registration: bool | None = None
    registrants_confirmation_email: bool | None = None
    registrants_email_notification: bool | None = None
    allow_multiple_devices: bool | None = None
    show_share_button: bool | None = None
    focus_mode: bool | None = None
    encryption_type: Literal["enhanced_encryption", "e2ee"] | None = None
    calendar_type: Literal[1, 2] | None = None
    contact_name: str | None = None
    contact_email: str | None = None


class TrackingFieldIn(_Body):
    field: str
    value: str | None = None


class MeetingIn(_Body):
    """Body of create (``POST /users/{userId}/meetings``) and update (``PATCH``)."""

    topic: str | None = Field(None, max_length=200)
    type: Literal[1, 2, 3, 8] | None = None
    start_time: str | None = None
    duration: int | None = Field(None, ge=0)
    timezone: str | None = None
    password: str | None = Field(None, max_length=10, pattern=PASSWORD_PATTERN)
    agenda: str | None = Field(None, max_length=2000)
    default_password: bool | None = None
    pre_schedule: bool | None = None
    schedule_for: str | None = None
    recurrence: RecurrenceIn | None = None
    settings: SettingsIn | None = None
    tracking_fields: list[TrackingFieldIn] | None = None
    template_id: str | None = None


class AttendeeIn(_Body):
    name: str = Field(min_length=1, max_length=64)


class InviteLinksIn(_Body):
    attendees: list[AttendeeIn] = Field(min_length=1, max_length=500)
    ttl: int = Field(7200, ge=0, le=7_776_000)


class CustomQuestionIn(_Body):
    title: str
    value: str = Field(max_length=128)


class RegistrantIn(_Body):
    email: str = Field(max_length=128, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    first_name: str = Field(min_length=1, max_length=64)
    last_name: str | None = Field(None, max_length=64)
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    phone: str | None = None
    comments: str | None = None
    industry: str | None = None
    job_title: str | None = None
    org: str | None = None
    custom_questions: list[CustomQuestionIn] | None = None
    language: str | None = None
    auto_approve: bool | None = None


M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, model: type[M]) -> M:
    """Parse the JSON body into ``model``; any failure is Zoom's 300 "Validation Failed."."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw if raw.strip() else b"{}")
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            if err["type"] == "json_invalid" or not err["loc"]:
                errors.append({"field": "body", "message": BAD_JSON})
                continue
            field = ".".join(str(part) for part in err["loc"])
            errors.append({"field": field, "message": err["msg"]})
        raise validation_failed(errors) from None


# ---- times and recurrence ----------------------------------------------------------------------


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


# ---- building and finding meetings -------------------------------------------------------------


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def apply_password(meeting: dict[str, Any], password: str) -> None:
    """Set the passcode and everything derived from it (numeric forms, join URL)."""
    meeting["password"] = password
    if password:
        digits = password if password.isdigit() else _random(string.digits, 6)
        encrypted = _random(string.ascii_letters + string.digits, 32)
        meeting["h323_password"] = digits
        meeting["pstn_password"] = digits
        meeting["encrypted_password"] = encrypted
        meeting["join_url"] = f"{WEB}/j/{meeting['id']}?pwd={encrypted}"
    else:
        meeting["h323_password"] = meeting["pstn_password"] = meeting["encrypted_password"] = ""
        meeting["join_url"] = f"{WEB}/j/{meeting['id']}"


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _fit_settings(meeting: dict[str, Any]) -> None:
    """Registration only exists on types 2 and 8; it brings a registration URL."""
    settings = meeting["settings"]
    if meeting["type"] not in (2, 8):
        settings["approval_type"] = 2
    if settings["approval_type"] in (0, 1):
        token = _random(string.ascii_letters + string.digits, 24)
        meeting.setdefault("registration_url", f"{WEB}/meeting/register/{token}")
    else:
        meeting.pop("registration_url", None)


def _schedule(
    meeting: dict[str, Any], start: datetime | None, recurrence: RecurrenceIn | None
) -> None:
    """Set start time, recurrence and occurrences from the meeting's type (create and update)."""
    tz = zone(meeting["timezone"])
    kind = meeting["type"]
    if kind == 8 and recurrence is None and "recurrence" not in meeting:
        message = "Recurrence is required for a recurring meeting with a fixed time (type 8)."
        raise validation_failed([{"field": "recurrence", "message": message}])
    if kind == 3:
        meeting.pop("start_time", None)
        meeting.pop("occurrences", None)
    else:
        if start is None:
            start = _stored_start(meeting) or utcnow().replace(microsecond=0)
        meeting["start_time"] = zoom_time(start)
    if kind in (3, 8):
        if recurrence is not None:
            meeting["recurrence"] = normalize_recurrence(
                recurrence, start or utcnow().replace(microsecond=0), tz
            )
    else:
        meeting.pop("recurrence", None)
        meeting.pop("occurrences", None)
    if kind == 8 and start is not None:
        occurrences = compute_occurrences(start, tz, meeting["recurrence"], meeting["duration"])
        meeting["occurrences"] = occurrences
        if occurrences:
            meeting["start_time"] = occurrences[0]["start_time"]


def _stored_start(meeting: dict[str, Any]) -> datetime | None:
    raw = meeting.get("start_time")
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def build_meeting(state: EmulatorState, host: User, body: MeetingIn) -> dict[str, Any]:
    """The create answer (and the stored meeting) for a validated body."""
    kind = body.type or 2
    if body.pre_schedule and kind not in (2, 3):
        message = (
            "Prescheduling is only available for scheduled meetings (type 2) and recurring "
            "meetings with no fixed time (type 3)."
        )
        raise ZoomError(400, 3000, message)
    tz_name = body.timezone or host.timezone
    tz = zone(tz_name)
    start = None
    if body.start_time is not None:
        start = parse_time(body.start_time, tz, "start_time")
    if kind not in (2, 8):
        start = None  # instant and no-fixed-time meetings ignore start_time
    meeting_id = state.next_meeting_id()
    meeting: dict[str, Any] = {
        "uuid": meeting_uuid(f"{host.id}/{meeting_id}/{secrets.token_hex(4)}"),
        "id": meeting_id,
        "host_id": host.id,
        "host_email": host.email,
        "assistant_id": "",
        "topic": body.topic if body.topic is not None else f"{host.first_name}'s Zoom Meeting",
        "type": kind,
        "status": "waiting",
        "duration": body.duration if body.duration is not None else DEFAULT_DURATION,
        "timezone": tz_name,
        "agenda": body.agenda or "",
        "created_at": zoom_time(utcnow()),
        "start_url": f"{WEB}/s/{meeting_id}?zak={_random(string.ascii_letters, 40)}",
        "pre_schedule": bool(body.pre_schedule),
    }
    password = body.password
    if password is None:
        password = _random(string.ascii_letters + string.digits, 6)
    apply_password(meeting, password)
    given = body.settings.model_dump(exclude_none=True) if body.settings else {}
    meeting["settings"] = _merge(copy.deepcopy(DEFAULT_SETTINGS), given)
    if body.tracking_fields is not None:
        meeting["tracking_fields"] = [
            {"field": t.field, "value": t.value or "", "visible": True}
            for t in body.tracking_fields
        ]
    _schedule(meeting, start, body.recurrence)
    _fit_settings(meeting)
    return meeting


def find_meeting(
    state: EmulatorState, caller: Caller, meeting_id: str, operation: Operation
) -> dict[str, Any]:
    """A meeting the caller may act on: 404 code 3001 when unknown, 400 code 3000 when not theirs."""
    if not (meeting_id.isascii() and meeting_id.isdigit()):
        raise meeting_not_found(meeting_id)
    meeting = state.meetings.get(int(meeting_id))
    host = state.users.get(meeting["host_id"]) if meeting is not None else None
    if meeting is None or host is None or host.account_id != caller.account_id:
        raise meeting_not_found(meeting_id)
    if not may_act_for(caller, operation, host):
        raise ZoomError(400, 3000, CANNOT_ACCESS)
    return meeting


def _occurrence(meeting: dict[str, Any], occurrence_id: str) -> dict[str, Any]:
    for occurrence in meeting.get("occurrences", []):
        if occurrence["occurrence_id"] == occurrence_id and occurrence["status"] != "deleted":
            found: dict[str, Any] = occurrence
            return found
    raise ZoomError(400, 3000, INVALID_OCCURRENCE)


# ---- routes ------------------------------------------------------------------------------------


@router.post("/users/{userId}/meetings", status_code=201)
async def create_meeting(
    userId: str,
    request: Request,
    caller: Caller = Depends(caller_for("create_meeting")),
) -> dict[str, Any]:
    """``POST /users/{userId}/meetings``: schedule a meeting (counts toward the host's 100/day)."""
    state = state_of(request)
    operation = operations()["create_meeting"]
    host = resolve_user(state, caller, userId, operation, foreign_as_not_found=True)
    body = await read_body(request, MeetingIn)
    if body.schedule_for:
        if (body.type or 2) == 1:
            message = (
                "Instant meetings do not support the schedule_for parameter; you cannot schedule "
                "an instant meeting for another user."
            )
            raise ZoomError(400, 3000, message)
        wanted = body.schedule_for.lower()
        host = (
            next(
                (
                    u
                    for u in state.users.values()
                    if u.account_id == caller.account_id
                    and wanted in (u.id.lower(), u.email.lower())
                ),
                None,
            )
            or _bad_schedule_for()
        )
    meeting = build_meeting(state, host, body)
    request.app.state.rate_limiter.count_meeting_write(host.id)  # valid requests count
    state.meetings[meeting["id"]] = meeting
    return copy.deepcopy(meeting)


def _bad_schedule_for() -> User:
    message = (
        "The value that you entered for the schedule_for field is invalid. "
        "Enter a valid value and try again."
    )
    raise validation_failed([{"field": "schedule_for", "message": message}])


ListType = Literal["scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"]
LIST_FIELDS = (
    "uuid",
    "id",
    "host_id",
    "topic",
    "type",
    "start_time",
    "duration",
    "timezone",
    "agenda",
    "created_at",
    "join_url",
)
LISTED_AGENDA = 250


def _is_upcoming(meeting: dict[str, Any], moment: datetime) -> bool:
    if meeting["status"] == "started" or meeting["type"] == 3:
        return True
    starts = [o["start_time"] for o in meeting.get("occurrences", []) if o["status"] != "deleted"]
    starts = starts or [meeting["start_time"]]
    return max(starts) >= zoom_time(moment)


@router.get("/users/{userId}/meetings")
async def list_meetings(
    userId: str,
    request: Request,
    type: ListType = Query("scheduled"),
    page_size: int | None = Query(None),
    next_page_token: str | None = Query(None),
    from_: date | None = Query(None, alias="from"),
    to: date | None = Query(None),
    caller: Caller = Depends(caller_for("list_meetings")),
) -> dict[str, Any]:
    """``GET /users/{userId}/meetings``: a host's meetings by ``type``, paginated."""
    state = state_of(request)
    host = resolve_user(
        state, caller, userId, operations()["list_meetings"], foreign_as_not_found=True
    )
    moment = utcnow()
    chosen = []
    for meeting in state.meetings.values():
        if meeting["host_id"] != host.id:
            continue
        upcoming = _is_upcoming(meeting, moment)
        if type == "live" and meeting["status"] != "started":
            continue
        if type in ("upcoming", "upcoming_meetings") and not upcoming:
            continue
        if type == "previous_meetings" and upcoming:
            continue
        day = meeting.get("start_time", "")[:10]
        if day and from_ is not None and day < from_.isoformat():
            continue
        if day and to is not None and day > to.isoformat():
            continue
        chosen.append(meeting)
    chosen.sort(key=lambda m: (m.get("start_time") or m["created_at"], m["id"]))
    listed = [{k: m[k] for k in LIST_FIELDS if k in m} for m in chosen]
    for item in listed:
        item["agenda"] = item.get("agenda", "")[:LISTED_AGENDA]
    key = f"meetings:{host.id}:{type}:{from_}:{to}"
    page, fields = paginate(state, key, listed, page_size, next_page_token)
    return {**fields, "meetings": page}


@router.get("/meetings/{meetingId}")
async def get_meeting(
    meetingId: str,
    request: Request,
    occurrence_id: str | None = Query(None),
    show_previous_occurrences: bool | None = Query(None),
    caller: Caller = Depends(caller_for("get_meeting")),
) -> dict[str, Any]:
    """``GET /meetings/{meetingId}``: the stored meeting (one occurrence's time when asked)."""
    meeting = copy.deepcopy(
        find_meeting(state_of(request), caller, meetingId, operations()["get_meeting"])
    )
    if occurrence_id is not None:
        occurrence = _occurrence(meeting, occurrence_id)
        meeting["start_time"] = occurrence["start_time"]
        meeting["duration"] = occurrence["duration"]
    return meeting


@router.patch("/meetings/{meetingId}", status_code=204)
async def update_meeting(
    meetingId: str,
    request: Request,
    occurrence_id: str | None = Query(None),
    caller: Caller = Depends(caller_for("update_meeting")),
) -> Response:
    """``PATCH /meetings/{meetingId}``: 204 without a body (counts toward the host's 100/day)."""
    state = state_of(request)
    stored = find_meeting(state, caller, meetingId, operations()["update_meeting"])
    body = await read_body(request, MeetingIn)
    meeting = copy.deepcopy(stored)
    tz = zone(body.timezone or meeting["timezone"])
    if occurrence_id is not None:
        occurrence = _occurrence(meeting, occurrence_id)
        if body.start_time is not None:
            moment = parse_time(body.start_time, tz, "start_time")
            occurrence["start_time"] = zoom_time(moment)
        if body.duration is not None:
            occurrence["duration"] = body.duration
    else:
        _update_series(meeting, body, tz)
    for field in ("topic", "agenda"):
        value = getattr(body, field)
        if value is not None:
            meeting[field] = value
    if body.password is not None:
        apply_password(meeting, body.password)
    if body.settings is not None:
        meeting["settings"] = _merge(
            meeting["settings"], body.settings.model_dump(exclude_none=True)
        )
    if body.tracking_fields is not None:
        meeting["tracking_fields"] = [
            {"field": t.field, "value": t.value or "", "visible": True}
            for t in body.tracking_fields
        ]
    if body.pre_schedule is not None:
        meeting["pre_schedule"] = body.pre_schedule
    _fit_settings(meeting)
    request.app.state.rate_limiter.count_meeting_write(meeting["host_id"])
    state.meetings[meeting["id"]] = meeting
    return Response(status_code=204)


def _update_series(meeting: dict[str, Any], body: MeetingIn, tz: ZoneInfo) -> None:
    """Apply type, timezone, start time, duration and recurrence changes to the whole series."""
    retime = any(
        value is not None for value in (body.type, body.timezone, body.start_time, body.recurrence)
    )
    if body.type is not None:
        meeting["type"] = body.type
    if body.timezone is not None:
        meeting["timezone"] = body.timezone
    if body.duration is not None:
        meeting["duration"] = body.duration
        for occurrence in meeting.get("occurrences", []):
            occurrence["duration"] = body.duration
    if retime:
        start = parse_time(body.start_time, tz, "start_time") if body.start_time else None
        _schedule(meeting, start, body.recurrence)


@router.delete("/meetings/{meetingId}", status_code=204)
async def delete_meeting(
    meetingId: str,
    request: Request,
    occurrence_id: str | None = Query(None),
    schedule_for_reminder: bool | None = Query(None),
    cancel_meeting_reminder: bool | None = Query(None),
    caller: Caller = Depends(caller_for("delete_meeting")),
) -> Response:
    """``DELETE /meetings/{meetingId}``: the meeting, or with ``occurrence_id`` one occurrence."""
    state = state_of(request)
    meeting = find_meeting(state, caller, meetingId, operations()["delete_meeting"])
    if meeting["status"] == "started":
        raise ZoomError(400, 3002, "Sorry, you cannot delete this meeting since it is in progress.")
    if occurrence_id is not None:
        _occurrence(meeting, occurrence_id)["status"] = "deleted"
    else:
        del state.meetings[meeting["id"]]
        state.registrants.pop(meeting["id"], None)
    return Response(status_code=204)


@router.post("/meetings/{meetingId}/invite_links", status_code=201)
async def create_invite_links(
    meetingId: str,
    request: Request,
    caller: Caller = Depends(caller_for("create_invite_links")),
) -> dict[str, Any]:
    """``POST /meetings/{meetingId}/invite_links``: one join link per named attendee."""
    meeting = find_meeting(
        state_of(request), caller, meetingId, operations()["create_invite_links"]
    )
    body = await read_body(request, InviteLinksIn)
    pwd = f"&pwd={meeting['encrypted_password']}" if meeting["encrypted_password"] else ""
    alphabet = string.ascii_letters + string.digits
    attendees = [
        {"name": a.name, "join_url": f"{WEB}/j/{meeting['id']}?tk={_random(alphabet, 43)}{pwd}"}
        for a in body.attendees
    ]
    return {"attendees": attendees}


def _spaced_id(meeting_id: int) -> str:
    text = str(meeting_id)
    if len(text) == 11:
        return f"{text[:3]} {text[3:7]} {text[7:]}"
    if len(text) == 10:
        return f"{text[:3]} {text[3:6]} {text[6:]}"
    return text


def invitation_text(state: EmulatorState, meeting: dict[str, Any]) -> str:
    """The invitation e-mail text, in Zoom's layout."""
    host = state.users.get(meeting["host_id"])
    name = f"{host.first_name} {host.last_name}" if host else "A Zoom user"
    lines = [f"{name} is inviting you to a scheduled Zoom meeting.", ""]
    lines.append(f"Topic: {meeting['topic']}")
    if "start_time" in meeting:
        start = _stored_start(meeting)
        assert start is not None
        local = start.astimezone(zone(meeting["timezone"]))
        lines.append(f"Time: {local.strftime('%b %d, %Y %I:%M %p')} {meeting['timezone']}")
    for occurrence in meeting.get("occurrences", [])[:10]:
        lines.append(f"        {occurrence['start_time']}")
    lines += ["", "Join Zoom Meeting", meeting["join_url"], ""]
    lines.append(f"Meeting ID: {_spaced_id(meeting['id'])}")
    if meeting["password"]:
        lines.append(f"Passcode: {meeting['password']}")
    lines += ["", "---", "", "One tap mobile"]
    pstn = f",,,,*{meeting['pstn_password']}#" if meeting["pstn_password"] else ""
    lines.append(f"+16465588656,,{meeting['id']}#{pstn} US (New York)")
    return "\n".join(lines) + "\n"


@router.get("/meetings/{meetingId}/invitation")
async def get_meeting_invitation(
    meetingId: str,
    request: Request,
    caller: Caller = Depends(caller_for("get_meeting_invitation")),
) -> dict[str, Any]:
    """``GET /meetings/{meetingId}/invitation``: the invitation text."""
    state = state_of(request)
    meeting = find_meeting(state, caller, meetingId, operations()["get_meeting_invitation"])
    return {"invitation": invitation_text(state, meeting)}


@router.post("/meetings/{meetingId}/registrants", status_code=201)
async def add_meeting_registrant(
    meetingId: str,
    request: Request,
    occurrence_ids: str | None = Query(None),
    caller: Caller = Depends(caller_for("add_meeting_registrant")),
) -> dict[str, Any]:
    """``POST /meetings/{meetingId}/registrants``: register someone (registration must be on)."""
    state = state_of(request)
    meeting = find_meeting(state, caller, meetingId, operations()["add_meeting_registrant"])
    if meeting["settings"]["approval_type"] not in (0, 1):
        raise ZoomError(
            404, 404, f"Registration has not been enabled for this meeting: {meeting['id']}."
        )
    body = await read_body(request, RegistrantIn)
    occurrences = [o for o in meeting.get("occurrences", []) if o["status"] != "deleted"]
    if occurrence_ids:
        wanted = [part.strip() for part in occurrence_ids.split(",") if part.strip()]
        known = {o["occurrence_id"] for o in occurrences}
        unknown = [part for part in wanted if part not in known]
        if unknown:
            message = f"Invalid occurrence_ids: {','.join(unknown)}."
            raise validation_failed([{"field": "occurrence_ids", "message": message}])
        occurrences = [o for o in occurrences if o["occurrence_id"] in wanted]
    registrants = state.registrants.setdefault(meeting["id"], [])
    for registrant in registrants:
        if registrant["email"].lower() == body.email.lower():
            answer: dict[str, Any] = registrant["answer"]
            return answer
    approved = meeting["settings"]["approval_type"] == 0 or bool(body.auto_approve)
    registrant_id = _random(string.ascii_letters + string.digits + "-_", 22)
    token = _random(string.ascii_letters + string.digits, 43)
    answer = {
        "id": meeting["id"],
        "registrant_id": registrant_id,
        "topic": meeting["topic"],
        "join_url": f"{WEB}/w/{meeting['id']}?tk={token}",
        "participant_pin_code": int(_random(string.digits, 6)),
    }
    if "start_time" in meeting:
        answer["start_time"] = meeting["start_time"]
    if occurrences:
        answer["occurrences"] = copy.deepcopy(occurrences)
    registrants.append(
        {
            **body.model_dump(exclude_none=True),
            "id": registrant_id,
            "status": "approved" if approved else "pending",
            "create_time": zoom_time(utcnow()),
            "answer": answer,
        }
    )
    return answer
