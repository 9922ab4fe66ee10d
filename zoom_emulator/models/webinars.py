"""Webinars as the emulator keeps them, and what Zoom does to them (no HTTP here).

A webinar is a :class:`Webinar` record in ``state.webinars`` (by integer id, drawn from the same
sequence as meeting ids); its Zoom JSON (the create answer, ``GET /webinars/{id}``) is
:meth:`Webinar.as_zoom`. A webinar held (:func:`hold`, the ``/_emulator/webinars/{id}/held``
control) is a :class:`PastWebinar` in ``state.past_webinars``, by its instance UUID. Choices
where Zoom is vague, documented here:

* types 5 (one-time), 6 (recurring, no fixed time: no start time, no occurrences) and 9
  (recurring, fixed time: occurrences from the recurrence, as for meetings of type 8);
* registration needs ``settings.approval_type`` 0 or 1 on a type 5 or 9 webinar (type 6 stores
  2 whatever was asked, as meetings of type 3 do); otherwise a registrant call answers 400 code
  3000 "This webinar does not have registration as required: {id}." (the spec's create error);
* ``PATCH`` with ``occurrence_id`` moves only that occurrence, as for meetings;
* hosting a webinar needs the webinar add-on: a licensed user (type 2) has it, a basic user
  (type 1) gets 400 code 200 "Subscription plan for webinar is missing. …" (the spec's message);
* a user-level token without an ``:admin`` scope may not touch another user's webinar: 400 code
  3000 "Cannot access meeting info." as for meetings; a webinar on another account is 404 code 3001;
* a listed webinar carries the spec's list fields only;
* a held webinar's participants are who the control says joined; its absentees are the
  registrants approved when it was held who did not join (matched by email); a participant's
  ``duration`` is in seconds. A webinar id names its latest held instance; one never held is
  404 code 3001. Absentees are of the whole instance (an ``occurrence_id`` is ignored).
"""

from __future__ import annotations

import copy
import dataclasses
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from zoom_emulator.models.access import Caller, may_act_for
from zoom_emulator.models.errors import zoom_error
from zoom_emulator.models.inputs import WebinarIn
from zoom_emulator.models.meetings import (
    DEFAULT_DURATION,
    LIST_FIELDS,
    WEB,
    Occurring,
    Registrant,
    Scheduled,
    change_schedule,
    find_owned,
    merge,
)
from zoom_emulator.models.operations import Operation
from zoom_emulator.models.recurrence import parse_time, zone
from zoom_emulator.models.registrants import listed
from zoom_emulator.models.seed import meeting_uuid
from zoom_emulator.models.state import EmulatorState, User, utcnow, zoom_time

DEFAULT_SETTINGS: dict[str, Any] = {
    "host_video": False,
    "panelists_video": False,
    "practice_session": False,
    "hd_video": False,
    "approval_type": 2,
    "registration_type": 1,
    "audio": "both",
    "auto_recording": "none",
    "enforce_login": False,
    "close_registration": False,
    "show_share_button": False,
    "allow_multiple_devices": False,
    "on_demand": False,
    "global_dial_in_countries": ["US"],
    "registrants_email_notification": True,
    "meeting_authentication": False,
    "question_and_answer": {"enable": True},
}
ONE_TIME, NO_FIXED_TIME, FIXED_TIME = 5, 6, 9
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class Webinar(Occurring, Scheduled):
    """One scheduled webinar, with the fields of Zoom's answer (``None`` ones left out)."""

    KIND = "webinar"
    FIXED_RECURRING = FIXED_TIME
    FLOATING_RECURRING = NO_FIXED_TIME
    REGISTRATION_OFF = "webinar_registration_off"

    join_url: str
    password: str
    settings: dict[str, Any]
    start_time: str | None = None
    recurrence: dict[str, Any] | None = None
    occurrences: list[dict[str, Any]] | None = None
    registrants: list[Registrant] = field(default_factory=list)

    def as_zoom(self) -> dict[str, Any]:
        """The webinar's Zoom JSON (a copy): what create and ``GET /webinars/{id}`` answer."""
        fields = dataclasses.asdict(self)
        del fields["registrants"]
        return {key: value for key, value in fields.items() if value is not None}

    def listed(self) -> dict[str, Any]:
        """The webinar as ``GET /users/{userId}/webinars`` lists it."""
        answer = self.as_zoom()
        return {key: answer[key] for key in LIST_FIELDS if key in answer}

    def is_upcoming(self, moment: str) -> bool:
        """Not over at ``moment`` (a Zoom time): a no-fixed-time webinar always is."""
        starts = [o["start_time"] for o in self.live_occurrences()] or [self.start_time or ""]
        return self.type == NO_FIXED_TIME or max(starts) >= moment

    def set_password(self, password: str) -> None:
        """Set the passcode and the join URL that carries it."""
        self.password = password
        pwd = f"?pwd={''.join(secrets.choice(_ALPHABET) for _ in range(32))}" if password else ""
        self.join_url = f"{WEB}/j/{self.id}{pwd}"

    def fit_settings(self) -> None:
        """Registration only exists on types 5 and 9."""
        if self.type == NO_FIXED_TIME:
            self.settings["approval_type"] = 2


@dataclass
class PastWebinar:
    """One held instance of a webinar: who joined, and who registered but did not."""

    uuid: str
    webinar_id: int
    host_id: str
    start_time: str
    participants: list[dict[str, Any]]
    absentees: list[dict[str, Any]]
    registration_on: bool


def build_webinar(state: EmulatorState, host: User, body: WebinarIn) -> Webinar:
    """The webinar a validated create body describes (not stored yet)."""
    if host.type != 2:
        raise zoom_error("no_webinar_plan", user_id=host.id)
    kind = body.type or ONE_TIME
    tz_name = body.timezone or host.timezone
    start = None
    if body.start_time is not None and kind != NO_FIXED_TIME:
        start = parse_time(body.start_time, zone(tz_name), "start_time")
    webinar_id = state.next_meeting_id()
    given = body.settings.model_dump(exclude_none=True) if body.settings else {}
    webinar = Webinar(
        uuid=meeting_uuid(f"{host.id}/webinar/{webinar_id}/{secrets.token_hex(4)}"),
        id=webinar_id,
        host_id=host.id,
        host_email=host.email,
        topic=body.topic if body.topic is not None else "Zoom Webinar",
        type=kind,
        duration=body.duration if body.duration is not None else DEFAULT_DURATION,
        timezone=tz_name,
        agenda=body.agenda or "",
        created_at=zoom_time(utcnow()),
        start_url=f"{WEB}/s/{webinar_id}?zak={secrets.token_urlsafe(30)}",
        join_url="",
        password="",
        settings=merge(copy.deepcopy(DEFAULT_SETTINGS), given),
    )
    webinar.set_password(body.password if body.password is not None else secrets.token_hex(3))
    webinar.schedule(start, body.recurrence)
    webinar.fit_settings()
    return webinar


def updated(stored: Webinar, body: WebinarIn, occurrence_id: str | None) -> Webinar:
    """The webinar after a ``PATCH`` (a new record: the stored one is untouched on error)."""
    webinar = copy.deepcopy(stored)
    change_schedule(webinar, body, occurrence_id)
    if body.password is not None:
        webinar.set_password(body.password)
    webinar.fit_settings()
    return webinar


def find_webinar(
    state: EmulatorState, caller: Caller, webinar_id: str, operation: Operation
) -> Webinar:
    """A webinar the caller may act on: 404 code 3001 when unknown, 400 code 3000 when not theirs."""
    not_found = zoom_error("webinar_not_found", webinar_id=webinar_id)
    return find_owned(state, caller, operation, state.webinars, webinar_id, not_found)


def list_webinars(state: EmulatorState, host: User, kind: str) -> list[dict[str, Any]]:
    """A host's webinars: all scheduled ones, or (``upcoming``) those not over yet."""
    moment = zoom_time(utcnow())
    chosen = [
        w
        for w in state.webinars.values()
        if w.host_id == host.id and (kind == "scheduled" or w.is_upcoming(moment))
    ]
    chosen.sort(key=lambda w: (w.start_time or w.created_at, w.id))
    return [webinar.listed() for webinar in chosen]


def delete(webinar: Webinar, state: EmulatorState, occurrence_id: str | None) -> None:
    """Delete the webinar, or with ``occurrence_id`` one occurrence of a recurring one."""
    if occurrence_id is not None:
        webinar.occurrence(occurrence_id)["status"] = "deleted"
    else:
        del state.webinars[webinar.id]


# ---- held webinars -------------------------------------------------------------------------------
def hold(
    state: EmulatorState, webinar: Webinar, attendees: list[dict[str, Any]], start: datetime
) -> PastWebinar:
    """Record that ``webinar`` took place at ``start``: ``attendees`` (``name``, ``email``,
    ``joined_after_minutes`` from the start, 0 by default, and ``minutes`` stayed, 1 by default)
    joined."""
    emails = {a["email"].lower(): a for a in attendees}
    registered = {r.email.lower(): r for r in webinar.registrants}
    participants: list[dict[str, Any]] = []
    for attendee in attendees:
        joined = start + timedelta(minutes=float(attendee.get("joined_after_minutes", 0)))
        left = joined + timedelta(minutes=float(attendee.get("minutes", 1)))
        entry: dict[str, Any] = {
            "id": secrets.token_urlsafe(16),
            "name": attendee["name"],
            "user_id": str(16_778_240 + len(participants)),
            "user_email": attendee["email"],
            "join_time": zoom_time(joined),
            "leave_time": zoom_time(left),
            "duration": int((left - joined).total_seconds()),
            "failover": False,
            "status": "in_meeting",
        }
        registrant = registered.get(attendee["email"].lower())
        if registrant is not None:
            entry["registrant_id"] = registrant.id
        participants.append(entry)
    absentees = [
        listed(r)
        for r in webinar.registrants
        if r.status == "approved" and r.email.lower() not in emails
    ]
    held = PastWebinar(
        uuid=meeting_uuid(f"{webinar.host_id}/held/{webinar.id}/{secrets.token_hex(4)}"),
        webinar_id=webinar.id,
        host_id=webinar.host_id,
        start_time=zoom_time(start),
        participants=participants,
        absentees=absentees,
        registration_on=webinar.settings["approval_type"] in (0, 1),
    )
    state.past_webinars[held.uuid] = held
    return held


def find_held(state: EmulatorState, caller: Caller, ref: str, operation: Operation) -> PastWebinar:
    """A held instance by UUID, or a webinar id's latest one, that the caller may read."""
    held = [p for p in state.past_webinars.values() if ref in (p.uuid, str(p.webinar_id))]
    hosts = [state.users.get(p.host_id) for p in held]
    mine = [
        (p, host)
        for p, host in zip(held, hosts, strict=True)
        if host is not None and host.account_id == caller.account_id
    ]
    if not mine:
        raise zoom_error("webinar_not_held")
    latest, host = max(mine, key=lambda pair: pair[0].start_time)
    if not may_act_for(caller, operation, host):
        raise zoom_error("cannot_access_meeting")
    return latest


def absentees(held: PastWebinar) -> list[dict[str, Any]]:
    """The registrants who did not join; 400 code 3000 when the webinar took no registrations."""
    if not held.registration_on:
        raise zoom_error("webinar_registration_off", webinar_id=held.uuid)
    return copy.deepcopy(held.absentees)
