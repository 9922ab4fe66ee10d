"""Meetings as the emulator keeps them, and what Zoom does to them (no HTTP here).

A meeting is a typed :class:`Meeting` record in ``state.meetings`` (by integer id); its Zoom JSON
(the create answer, ``GET /meetings/{id}``) is :meth:`Meeting.as_zoom`. Choices where Zoom is
vague, documented here:

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
import dataclasses
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from zoom_emulator.models.access import Caller, may_act_for
from zoom_emulator.models.errors import ZoomError, validation_failed, zoom_error
from zoom_emulator.models.inputs import (
    InviteLinksIn,
    MeetingIn,
    RecurrenceIn,
    RegistrantIn,
    WebinarIn,
)
from zoom_emulator.models.operations import Operation
from zoom_emulator.models.recurrence import (
    compute_occurrences,
    normalize_recurrence,
    parse_time,
    zone,
)
from zoom_emulator.models.seed import meeting_uuid
from zoom_emulator.models.state import EmulatorState, User, utcnow, zoom_time

WEB = "https://emulator.zoom.us"
DEFAULT_DURATION = 60
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


S = TypeVar("S", bound="Scheduled")


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class Scheduled:
    """What a meeting and a webinar record share, in the order of Zoom's JSON."""

    uuid: str
    id: int
    host_id: str
    host_email: str
    topic: str
    type: int
    duration: int
    timezone: str
    agenda: str
    created_at: str
    start_url: str


class Occurring:
    """What meetings and webinars share: occurrences of a recurring series, and registrants.

    Subclasses name their fixed-time and no-fixed-time recurring types (8 and 3 for meetings,
    9 and 6 for webinars) and the error a registrant call gets while registration is off.
    """

    KIND: ClassVar[str] = "meeting"
    FIXED_RECURRING: ClassVar[int] = 8
    FLOATING_RECURRING: ClassVar[int] = 3
    REGISTRATION_OFF: ClassVar[str] = "registration_off"

    id: int
    type: int
    topic: str
    agenda: str
    timezone: str
    duration: int
    settings: dict[str, Any]
    start_time: str | None
    recurrence: dict[str, Any] | None
    occurrences: list[dict[str, Any]] | None
    registrants: list[Registrant]

    def live_occurrences(self) -> list[dict[str, Any]]:
        return [o for o in self.occurrences or [] if o["status"] != "deleted"]

    def occurrence(self, occurrence_id: str) -> dict[str, Any]:
        """One occurrence not deleted, or 400 code 3000."""
        for occurrence in self.live_occurrences():
            if occurrence["occurrence_id"] == occurrence_id:
                return occurrence
        raise zoom_error("invalid_occurrence")

    def stored_start(self) -> datetime | None:
        raw = self.start_time
        return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None

    def schedule(self, start: datetime | None, recurrence: RecurrenceIn | None) -> None:
        """Set start time, recurrence and occurrences from the meeting's type (create, update)."""
        tz = zone(self.timezone)
        fixed, floating = self.FIXED_RECURRING, self.FLOATING_RECURRING
        if self.type == fixed and recurrence is None and self.recurrence is None:
            message = (
                f"Recurrence is required for a recurring {self.KIND} with a fixed time "
                f"(type {fixed})."
            )
            raise validation_failed([{"field": "recurrence", "message": message}])
        if self.type == floating:
            self.start_time = None
            self.occurrences = None
        else:
            if start is None:
                start = self.stored_start() or utcnow().replace(microsecond=0)
            self.start_time = zoom_time(start)
        if self.type in (floating, fixed):
            if recurrence is not None:
                self.recurrence = normalize_recurrence(
                    recurrence, start or utcnow().replace(microsecond=0), tz
                )
        else:
            self.recurrence = None
            self.occurrences = None
        if self.type == fixed and start is not None and self.recurrence is not None:
            self.occurrences = compute_occurrences(start, tz, self.recurrence, self.duration)
            if self.occurrences:
                self.start_time = self.occurrences[0]["start_time"]

    def answer_at(self, answer: dict[str, Any], occurrence_id: str | None) -> dict[str, Any]:
        """A ``GET`` answer with one occurrence's start time and duration, when asked for."""
        if occurrence_id is not None:
            occurrence = self.occurrence(occurrence_id)
            answer["start_time"] = occurrence["start_time"]
            answer["duration"] = occurrence["duration"]
        return answer

    def check_registration_open(self) -> None:
        """Zoom's error unless registration is on (``approval_type`` 0 or 1)."""
        if self.settings["approval_type"] not in (0, 1):
            raise zoom_error(self.REGISTRATION_OFF, meeting_id=self.id, webinar_id=self.id)


@dataclass
class Meeting(Occurring, Scheduled):
    """One scheduled meeting. Optional parts of Zoom's JSON are ``None`` when absent."""

    pre_schedule: bool
    settings: dict[str, Any]
    assistant_id: str = ""
    status: str = "waiting"
    start_time: str | None = None
    recurrence: dict[str, Any] | None = None
    occurrences: list[dict[str, Any]] | None = None
    password: str = ""
    h323_password: str = ""
    pstn_password: str = ""
    encrypted_password: str = ""
    join_url: str = ""
    tracking_fields: list[dict[str, Any]] | None = None
    registration_url: str | None = None
    registrants: list[Registrant] = field(default_factory=list)
    registration_questions: dict[str, Any] | None = None

    def as_zoom(self) -> dict[str, Any]:
        """The meeting's Zoom JSON (a copy): what create and ``GET /meetings/{id}`` answer."""
        fields = dataclasses.asdict(self)
        del fields["registrants"], fields["registration_questions"]
        return {key: value for key, value in fields.items() if value is not None}

    def listed(self) -> dict[str, Any]:
        """The meeting as ``GET /users/{userId}/meetings`` lists it."""
        answer = self.as_zoom()
        item = {key: answer[key] for key in LIST_FIELDS if key in answer}
        item["agenda"] = item.get("agenda", "")[:LISTED_AGENDA]
        return item

    def is_upcoming(self, moment: datetime) -> bool:
        if self.status == "started" or self.type == 3:
            return True
        starts = [o["start_time"] for o in self.live_occurrences()]
        starts = starts or [self.start_time or ""]
        return max(starts) >= zoom_time(moment)

    def apply_password(self, password: str) -> None:
        """Set the passcode and everything derived from it (numeric forms, join URL)."""
        self.password = password
        if password:
            digits = password if password.isdigit() else _random(string.digits, 6)
            self.h323_password = self.pstn_password = digits
            self.encrypted_password = _random(string.ascii_letters + string.digits, 32)
            self.join_url = f"{WEB}/j/{self.id}?pwd={self.encrypted_password}"
        else:
            self.h323_password = self.pstn_password = self.encrypted_password = ""
            self.join_url = f"{WEB}/j/{self.id}"

    def fit_settings(self) -> None:
        """Registration only exists on types 2 and 8; it brings a registration URL."""
        if self.type not in (2, 8):
            self.settings["approval_type"] = 2
        if self.settings["approval_type"] in (0, 1):
            if self.registration_url is None:
                token = _random(string.ascii_letters + string.digits, 24)
                self.registration_url = f"{WEB}/meeting/register/{token}"
        else:
            self.registration_url = None

    def set_tracking_fields(self, body: MeetingIn) -> None:
        if body.tracking_fields is not None:
            self.tracking_fields = [
                {"field": t.field, "value": t.value or "", "visible": True}
                for t in body.tracking_fields
            ]


@dataclass
class Registrant:
    """Someone registered for a meeting, with the answer Zoom gave when they registered."""

    email: str
    id: str
    status: str
    create_time: str
    answer: dict[str, Any]
    details: dict[str, Any]


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` laid over it, nested objects merged key by key."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def host_for_schedule(
    state: EmulatorState, caller: Caller, body: MeetingIn | WebinarIn, host: User
) -> User:
    """The host a create body names with ``schedule_for`` (else ``host``), or Zoom's error."""
    if not body.schedule_for:
        return host
    if (body.type or 2) == 1:
        message = (
            "Instant meetings do not support the schedule_for parameter; you cannot schedule "
            "an instant meeting for another user."
        )
        raise ZoomError(400, 3000, message)
    wanted = body.schedule_for.lower()
    for user in state.users.values():
        if user.account_id == caller.account_id and wanted in (user.id.lower(), user.email.lower()):
            return user
    message = (
        "The value that you entered for the schedule_for field is invalid. "
        "Enter a valid value and try again."
    )
    raise validation_failed([{"field": "schedule_for", "message": message}])


def build_meeting(state: EmulatorState, host: User, body: MeetingIn) -> Meeting:
    """The meeting a validated create body describes (not stored yet)."""
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
    given = body.settings.model_dump(exclude_none=True) if body.settings else {}
    meeting = Meeting(
        uuid=meeting_uuid(f"{host.id}/{meeting_id}/{secrets.token_hex(4)}"),
        id=meeting_id,
        host_id=host.id,
        host_email=host.email,
        topic=body.topic if body.topic is not None else f"{host.first_name}'s Zoom Meeting",
        type=kind,
        duration=body.duration if body.duration is not None else DEFAULT_DURATION,
        timezone=tz_name,
        agenda=body.agenda or "",
        created_at=zoom_time(utcnow()),
        start_url=f"{WEB}/s/{meeting_id}?zak={_random(string.ascii_letters, 40)}",
        pre_schedule=bool(body.pre_schedule),
        settings=merge(copy.deepcopy(DEFAULT_SETTINGS), given),
    )
    password = body.password
    if password is None:
        password = _random(string.ascii_letters + string.digits, 6)
    meeting.apply_password(password)
    meeting.set_tracking_fields(body)
    meeting.schedule(start, body.recurrence)
    meeting.fit_settings()
    return meeting


def find_owned(
    state: EmulatorState,
    caller: Caller,
    operation: Operation,
    records: dict[int, S],
    record_id: str,
    not_found: ZoomError,
) -> S:
    """The record of ``record_id`` the caller may act on: ``not_found`` when unknown or on
    another account, 400 code 3000 when a user-level caller may not act for its host."""
    found = records.get(int(record_id)) if record_id.isascii() and record_id.isdigit() else None
    host = state.users.get(found.host_id) if found is not None else None
    if found is None or host is None or host.account_id != caller.account_id:
        raise not_found
    if not may_act_for(caller, operation, host):
        raise zoom_error("cannot_access_meeting")
    return found


def find_meeting(
    state: EmulatorState, caller: Caller, meeting_id: str, operation: Operation
) -> Meeting:
    """A meeting the caller may act on: 404 code 3001 when unknown, 400 code 3000 when not theirs."""
    not_found = zoom_error("meeting_not_found", meeting_id=meeting_id)
    return find_owned(state, caller, operation, state.meetings, meeting_id, not_found)


def list_meetings(
    state: EmulatorState, host: User, kind: str, first: str | None, last: str | None
) -> list[dict[str, Any]]:
    """A host's meetings of one list ``type``, between two days (``yyyy-mm-dd``), as listed."""
    moment = utcnow()
    chosen = []
    for meeting in state.meetings.values():
        if meeting.host_id != host.id:
            continue
        upcoming = meeting.is_upcoming(moment)
        if kind == "live" and meeting.status != "started":
            continue
        if kind in ("upcoming", "upcoming_meetings") and not upcoming:
            continue
        if kind == "previous_meetings" and upcoming:
            continue
        day = (meeting.start_time or "")[:10]
        if day and first is not None and day < first:
            continue
        if day and last is not None and day > last:
            continue
        chosen.append(meeting)
    chosen.sort(key=lambda m: (m.start_time or m.created_at, m.id))
    return [meeting.listed() for meeting in chosen]


def updated(stored: Meeting, body: MeetingIn, occurrence_id: str | None) -> Meeting:
    """The meeting after a ``PATCH`` (a new record: the stored one is untouched on error)."""
    meeting = copy.deepcopy(stored)
    change_schedule(meeting, body, occurrence_id)
    if body.password is not None:
        meeting.apply_password(body.password)
    meeting.set_tracking_fields(body)
    if body.pre_schedule is not None:
        meeting.pre_schedule = body.pre_schedule
    meeting.fit_settings()
    return meeting


def change_schedule(
    record: Occurring, body: MeetingIn | WebinarIn, occurrence_id: str | None
) -> None:
    """Apply what a meeting's or webinar's ``PATCH`` says of its timing (of one occurrence with
    ``occurrence_id``, else of the series), topic, agenda and settings."""
    tz = zone(body.timezone or record.timezone)
    if occurrence_id is not None:
        occurrence = record.occurrence(occurrence_id)
        if body.start_time is not None:
            occurrence["start_time"] = zoom_time(parse_time(body.start_time, tz, "start_time"))
        if body.duration is not None:
            occurrence["duration"] = body.duration
    else:
        update_series(record, body, tz)
    if body.topic is not None:
        record.topic = body.topic
    if body.agenda is not None:
        record.agenda = body.agenda
    if body.settings is not None:
        record.settings = merge(record.settings, body.settings.model_dump(exclude_none=True))


def update_series(meeting: Occurring, body: MeetingIn | WebinarIn, tz: ZoneInfo) -> None:
    """Apply type, timezone, start time, duration and recurrence changes to the whole series
    (of a meeting or a webinar)."""
    retime = any(
        value is not None for value in (body.type, body.timezone, body.start_time, body.recurrence)
    )
    if body.type is not None:
        meeting.type = body.type
    if body.timezone is not None:
        meeting.timezone = body.timezone
    if body.duration is not None:
        meeting.duration = body.duration
        for occurrence in meeting.occurrences or []:
            occurrence["duration"] = body.duration
    if retime:
        start = parse_time(body.start_time, tz, "start_time") if body.start_time else None
        meeting.schedule(start, body.recurrence)


def delete(state: EmulatorState, meeting: Meeting, occurrence_id: str | None) -> None:
    """Delete the meeting, or with ``occurrence_id`` one occurrence (not while it runs)."""
    if meeting.status == "started":
        raise zoom_error("meeting_in_progress")
    if occurrence_id is not None:
        meeting.occurrence(occurrence_id)["status"] = "deleted"
    else:
        del state.meetings[meeting.id]


def invite_links(meeting: Meeting, body: InviteLinksIn) -> list[dict[str, str]]:
    """One join link per named attendee."""
    pwd = f"&pwd={meeting.encrypted_password}" if meeting.encrypted_password else ""
    alphabet = string.ascii_letters + string.digits
    return [
        {"name": a.name, "join_url": f"{WEB}/j/{meeting.id}?tk={_random(alphabet, 43)}{pwd}"}
        for a in body.attendees
    ]


def _spaced_id(meeting_id: int) -> str:
    text = str(meeting_id)
    if len(text) == 11:
        return f"{text[:3]} {text[3:7]} {text[7:]}"
    if len(text) == 10:
        return f"{text[:3]} {text[3:6]} {text[6:]}"
    return text


def invitation_text(state: EmulatorState, meeting: Meeting) -> str:
    """The invitation e-mail text, in Zoom's layout."""
    host = state.users.get(meeting.host_id)
    name = f"{host.first_name} {host.last_name}" if host else "A Zoom user"
    lines = [f"{name} is inviting you to a scheduled Zoom meeting.", ""]
    lines.append(f"Topic: {meeting.topic}")
    start = meeting.stored_start()
    if start is not None:
        local = start.astimezone(zone(meeting.timezone))
        lines.append(f"Time: {local.strftime('%b %d, %Y %I:%M %p')} {meeting.timezone}")
    for occurrence in (meeting.occurrences or [])[:10]:
        lines.append(f"        {occurrence['start_time']}")
    lines += ["", "Join Zoom Meeting", meeting.join_url, ""]
    lines.append(f"Meeting ID: {_spaced_id(meeting.id)}")
    if meeting.password:
        lines.append(f"Passcode: {meeting.password}")
    lines += ["", "---", "", "One tap mobile"]
    pstn = f",,,,*{meeting.pstn_password}#" if meeting.pstn_password else ""
    lines.append(f"+16465588656,,{meeting.id}#{pstn} US (New York)")
    return "\n".join(lines) + "\n"


def check_registration_open(record: Occurring) -> None:
    """Zoom's error unless the meeting or webinar takes registrants (``approval_type`` 0 or 1):
    404 code 404 for a meeting, 400 code 3000 for a webinar."""
    record.check_registration_open()


def register(meeting: Occurring, body: RegistrantIn, occurrence_ids: str | None) -> dict[str, Any]:
    """Register someone for a meeting or a webinar; the same email again gets its first answer."""
    check_registration_open(meeting)
    occurrences = meeting.live_occurrences()
    if occurrence_ids:
        wanted = [part.strip() for part in occurrence_ids.split(",") if part.strip()]
        known = {o["occurrence_id"] for o in occurrences}
        unknown = [part for part in wanted if part not in known]
        if unknown:
            message = f"Invalid occurrence_ids: {','.join(unknown)}."
            raise validation_failed([{"field": "occurrence_ids", "message": message}])
        occurrences = [o for o in occurrences if o["occurrence_id"] in wanted]
    for registrant in meeting.registrants:
        if registrant.email.lower() == body.email.lower():
            return registrant.answer
    approved = meeting.settings["approval_type"] == 0 or bool(body.auto_approve)
    registrant_id = _random(string.ascii_letters + string.digits + "-_", 22)
    token = _random(string.ascii_letters + string.digits, 43)
    answer: dict[str, Any] = {
        "id": meeting.id,
        "registrant_id": registrant_id,
        "topic": meeting.topic,
        "join_url": f"{WEB}/w/{meeting.id}?tk={token}",
        "participant_pin_code": int(_random(string.digits, 6)),
    }
    if meeting.start_time is not None:
        answer["start_time"] = meeting.start_time
    if occurrences:
        answer["occurrences"] = copy.deepcopy(occurrences)
    meeting.registrants.append(
        Registrant(
            email=body.email,
            id=registrant_id,
            status="approved" if approved else "pending",
            create_time=zoom_time(utcnow()),
            answer=answer,
            details=body.model_dump(exclude_none=True),
        )
    )
    return answer
