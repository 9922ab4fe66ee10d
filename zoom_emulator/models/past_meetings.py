"""Meetings that were held: their instances and who attended, as Zoom reports them (no HTTP here).

A held meeting is a :class:`HeldMeeting` (one instance, by UUID, in ``state.held_meetings``)
with one :class:`Attendance` row per stretch a participant spent in it: someone who left and
joined again has several rows, as in Zoom's lists. Choices where Zoom is vague, documented here:

* ``{meetingId}`` as a number means the latest instance (as for recordings); a UUID is decoded
  like a recording's (:func:`zoom_emulator.models.recordings.decode_meeting_ref`);
* an unknown meeting or one not yet ended is 404 code 3001 "The meeting ID is invalid or the
  meeting has not ended." (the spec's wording); a user-level token without an ``:admin`` scope
  on another user's meeting is 400 code 300 "Cannot access meeting information." (the spec's);
* participants, details and the report need a paid plan: an account on the ``basic`` plan gets
  400 code 200 "Only available for paid account: {accountId}." (the spec's, for all three);
* a participant's ``user_email`` is empty unless they are a user of the host's account (the
  spec's "Email address display rules", without their exceptions); ``duration`` is in seconds;
* instances of a meeting number with none held: an empty list when the meeting is scheduled on
  the caller's account, else 404 code 3001 "Meeting does not exist: {meetingId}.".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from zoom_emulator.models.access import Caller, may_act_for
from zoom_emulator.models.errors import zoom_error
from zoom_emulator.models.operations import Operation
from zoom_emulator.models.recordings import decode_meeting_ref
from zoom_emulator.models.state import EmulatorState, User, zoom_time


@dataclass
class Attendance:
    """One stretch of one participant in a meeting instance: a row of Zoom's lists."""

    name: str
    email: str
    user_id: str  # the Zoom user id of a signed-in participant of the account, else ""
    participant_id: str  # Zoom's id of this participant in this meeting instance
    join_time: datetime
    leave_time: datetime

    @property
    def seconds(self) -> int:
        return int((self.leave_time - self.join_time).total_seconds())


@dataclass
class HeldMeeting:
    """One instance of a meeting that was held and has ended."""

    uuid: str
    meeting_id: int
    account_id: str
    host_id: str
    topic: str
    type: int
    start_time: datetime
    end_time: datetime
    attendance: list[Attendance] = field(default_factory=list)


@dataclass(frozen=True)
class Attendee:
    """Someone who attended, and when: ``sessions`` are (join, leave) minutes after the start."""

    name: str
    email: str = ""
    sessions: tuple[tuple[int, int], ...] = ((0, 30),)


def hold(
    state: EmulatorState,
    host: User,
    *,
    uuid: str,
    meeting_id: int,
    topic: str,
    start_time: datetime,
    duration: int,
    attendees: list[Attendee],
    meeting_type: int = 2,
) -> HeldMeeting:
    """Record that a meeting instance was held, with each attendee's join/leave stretches."""
    end_time = start_time + timedelta(minutes=duration)
    held = HeldMeeting(
        uuid, meeting_id, host.account_id, host.id, topic, meeting_type, start_time, end_time
    )
    members = {u.email.lower(): u for u in state.users.values() if u.account_id == host.account_id}
    for attendee in attendees:
        member = members.get(attendee.email.lower()) if attendee.email else None
        digest = hashlib.sha1(f"{uuid}/{attendee.name}/{attendee.email}".encode()).hexdigest()
        for join, leave in attendee.sessions:
            held.attendance.append(
                Attendance(
                    name=attendee.name,
                    email=attendee.email,
                    user_id=member.id if member else "",
                    participant_id=str(int(digest[:8], 16) % 100_000_000),
                    join_time=start_time + timedelta(minutes=join),
                    leave_time=start_time + timedelta(minutes=leave),
                )
            )
    held.attendance.sort(key=lambda row: (row.join_time, row.name))
    state.held_meetings[uuid] = held
    return held


def _check_access(
    state: EmulatorState, caller: Caller, operation: Operation, held: HeldMeeting
) -> None:
    host = state.users.get(held.host_id)
    if host is not None and not may_act_for(caller, operation, host):
        raise zoom_error("cannot_access_past_meeting")


def check_paid_plan(state: EmulatorState, account_id: str) -> None:
    """400 code 200 when the account is on Zoom's free (``basic``) plan."""
    account = state.accounts.get(account_id)
    if account is not None and account.plan == "basic":
        raise zoom_error("paid_account_only", account_id=account_id)


def find_held(
    state: EmulatorState, caller: Caller, raw_ref: str, operation: Operation
) -> HeldMeeting:
    """The instance a ``{meetingId}`` names (a number: its latest), if the caller may read it."""
    ref = decode_meeting_ref(raw_ref)
    mine = [h for h in state.held_meetings.values() if h.account_id == caller.account_id]
    if ref.isascii() and ref.isdigit():
        found = [h for h in mine if h.meeting_id == int(ref)]
    else:
        found = [h for h in mine if h.uuid == ref]
    if not found:
        raise zoom_error("past_meeting_not_found")
    held = max(found, key=lambda h: h.start_time)
    _check_access(state, caller, operation, held)
    return held


def instances(
    state: EmulatorState, caller: Caller, raw_ref: str, operation: Operation
) -> list[dict[str, str]]:
    """The ended instances of a meeting number, oldest first, as ``uuid`` and ``start_time``."""
    ref = decode_meeting_ref(raw_ref)
    number = int(ref) if ref.isascii() and ref.isdigit() else None
    found = [
        h
        for h in state.held_meetings.values()
        if h.meeting_id == number and h.account_id == caller.account_id
    ]
    scheduled = state.meetings.get(number) if number is not None else None
    host = state.users.get(scheduled.host_id) if scheduled is not None else None
    if not found and (host is None or host.account_id != caller.account_id):
        raise zoom_error("meeting_not_found", meeting_id=ref)
    for held in found:
        _check_access(state, caller, operation, held)
    found.sort(key=lambda h: (h.start_time, h.uuid))
    return [{"uuid": h.uuid, "start_time": zoom_time(h.start_time)} for h in found]


def details(state: EmulatorState, held: HeldMeeting) -> dict[str, Any]:
    """The instance as ``GET /past_meetings/{meetingId}`` answers it."""
    host = state.users[held.host_id]
    people = {(row.email.lower() or row.name) for row in held.attendance}
    return {
        "id": held.meeting_id,
        "uuid": held.uuid,
        "duration": int((held.end_time - held.start_time).total_seconds() // 60),
        "start_time": zoom_time(held.start_time),
        "end_time": zoom_time(held.end_time),
        "host_id": held.host_id,
        "dept": host.dept,
        "participants_count": len(people),
        "source": "Zoom",
        "topic": held.topic,
        "total_minutes": sum(row.seconds for row in held.attendance) // 60,
        "type": held.type,
        "user_email": host.email,
        "user_name": f"{host.first_name} {host.last_name}".strip(),
    }


def participants(held: HeldMeeting) -> list[dict[str, Any]]:
    """One row per stretch, as both ``/past_meetings/…/participants`` and the report list them."""
    return [
        {
            "id": row.user_id,
            "user_id": row.participant_id,
            "name": row.name,
            "user_email": row.email if row.user_id else "",
            "join_time": zoom_time(row.join_time),
            "leave_time": zoom_time(row.leave_time),
            "duration": row.seconds,
            "failover": False,
            "status": "in_meeting",
        }
        for row in held.attendance
    ]


def ended_object(state: EmulatorState, held: HeldMeeting) -> dict[str, Any]:
    """The ``payload.object`` of the ``meeting.ended`` webhook for this instance."""
    host = state.users.get(held.host_id)
    return {
        "id": str(held.meeting_id),
        "uuid": held.uuid,
        "host_id": held.host_id,
        "topic": held.topic,
        "type": held.type,
        "start_time": zoom_time(held.start_time),
        "end_time": zoom_time(held.end_time),
        "timezone": host.timezone if host else "UTC",
        "duration": int((held.end_time - held.start_time).total_seconds() // 60),
    }
