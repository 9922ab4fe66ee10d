"""Webinars as the emulator keeps them, and what Zoom does to them (no HTTP here).

A webinar is a :class:`Webinar` record in ``state.webinars`` (by integer id, drawn from the same
sequence as meeting ids); its Zoom JSON (the create answer, ``GET /webinars/{id}``) is
:meth:`Webinar.as_zoom`. Choices where Zoom is vague, documented here:

* only one-time webinars (type 5) are emulated so far; recurring types 6 and 9 answer 400 code 300;
* hosting a webinar needs the webinar add-on: a licensed user (type 2) has it, a basic user
  (type 1) gets 400 code 200 "Subscription plan for webinar is missing. …" (the spec's message);
* a user-level token without an ``:admin`` scope may not touch another user's webinar: 400 code
  3000 "Cannot access meeting info." as for meetings; a webinar on another account is 404 code 3001;
* a listed webinar carries the spec's list fields only.
"""

from __future__ import annotations

import copy
import dataclasses
import secrets
import string
from dataclasses import dataclass
from typing import Any

from zoom_emulator.models.access import Caller
from zoom_emulator.models.errors import zoom_error
from zoom_emulator.models.inputs import WebinarIn
from zoom_emulator.models.meetings import (
    DEFAULT_DURATION,
    LIST_FIELDS,
    WEB,
    Scheduled,
    find_owned,
    merge,
)
from zoom_emulator.models.operations import Operation
from zoom_emulator.models.recurrence import parse_time, zone
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
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class Webinar(Scheduled):
    """One scheduled webinar, with the fields of Zoom's answer."""

    start_time: str
    join_url: str
    password: str
    settings: dict[str, Any]

    def as_zoom(self) -> dict[str, Any]:
        """The webinar's Zoom JSON (a copy): what create and ``GET /webinars/{id}`` answer."""
        return dataclasses.asdict(self)

    def listed(self) -> dict[str, Any]:
        """The webinar as ``GET /users/{userId}/webinars`` lists it."""
        answer = self.as_zoom()
        return {key: answer[key] for key in LIST_FIELDS}


def build_webinar(state: EmulatorState, host: User, body: WebinarIn) -> Webinar:
    """The one-time webinar a validated create body describes (not stored yet)."""
    if host.type != 2:
        raise zoom_error("no_webinar_plan", user_id=host.id)
    tz_name = body.timezone or host.timezone
    start = utcnow().replace(microsecond=0)
    if body.start_time is not None:
        start = parse_time(body.start_time, zone(tz_name), "start_time")
    webinar_id = state.next_meeting_id()
    password = body.password if body.password is not None else secrets.token_hex(3)
    pwd = f"?pwd={''.join(secrets.choice(_ALPHABET) for _ in range(32))}" if password else ""
    given = body.settings.model_dump(exclude_none=True) if body.settings else {}
    return Webinar(
        uuid=meeting_uuid(f"{host.id}/webinar/{webinar_id}/{secrets.token_hex(4)}"),
        id=webinar_id,
        host_id=host.id,
        host_email=host.email,
        topic=body.topic if body.topic is not None else "Zoom Webinar",
        type=5,
        start_time=zoom_time(start),
        duration=body.duration if body.duration is not None else DEFAULT_DURATION,
        timezone=tz_name,
        agenda=body.agenda or "",
        created_at=zoom_time(utcnow()),
        start_url=f"{WEB}/s/{webinar_id}?zak={secrets.token_urlsafe(30)}",
        join_url=f"{WEB}/j/{webinar_id}{pwd}",
        password=password,
        settings=merge(copy.deepcopy(DEFAULT_SETTINGS), given),
    )


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
        if w.host_id == host.id and (kind == "scheduled" or w.start_time >= moment)
    ]
    chosen.sort(key=lambda w: (w.start_time, w.id))
    return [webinar.listed() for webinar in chosen]
