"""The Zoom operations the emulator serves: method, path, rate-limit label and accepted scopes.

Read from Zoom's OpenAPI spec, vendored in ``zoom_emulator/spec/`` (the Meeting API, OpenAPI 3.0,
2023-10): each operation's classic scopes from ``extensions.x-macro-scopes`` (the list its
``security`` entry also holds), its granular scopes from ``extensions.x-granular-scopes``, and its
label from the "Rate Limit Label" line of its description. That copy lists granular scopes for
few operations and lacks two endpoints; what it lacks comes from the tables below, each with its
source. The emulator's knowledge is its own: nothing here comes from the pack it tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

SPEC_FILE = "zoom-meeting-api.openapi.json"

LABELS = {
    "light": "Light",
    "medium": "Medium",
    "heavy": "Heavy",
    "resource-intensive": "Resource-intensive",
}
"""The spec writes labels in any case (``LIGHT``, ``Light``); Zoom's rate-limit headers use these."""

_LABEL_LINE = re.compile(r"Rate Limit Label\]\([^)]*\):\*\*\s*`([A-Za-z-]+)`")

SERVED: dict[str, str] = {
    "get_user": "user",
    "list_users": "users",
    "create_user": "userCreate",
    "update_user": "userUpdate",
    "update_user_status": "userStatus",
    "delete_user": "userDelete",
    "create_meeting": "meetingCreate",
    "list_meetings": "meetings",
    "get_meeting": "meeting",
    "update_meeting": "meetingUpdate",
    "delete_meeting": "meetingDelete",
    "create_invite_links": "meetingInviteLinksCreate",
    "get_meeting_invitation": "meetingInvitation",
    "add_meeting_registrant": "meetingRegistrantCreate",
    "list_meeting_registrants": "meetingRegistrants",
    "update_meeting_registrant_status": "meetingRegistrantStatus",
    "delete_meeting_registrant": "meetingregistrantdelete",
    "get_meeting_registration_questions": "meetingRegistrantsQuestionsGet",
    "update_meeting_registration_questions": "meetingRegistrantQuestionUpdate",
    "create_webinar": "webinarCreate",
    "list_webinars": "webinars",
    "get_webinar": "webinar",
    "delete_webinar": "webinarDelete",
    "list_past_meeting_instances": "pastMeetings",
    "get_past_meeting": "pastMeetingDetails",
    "list_past_meeting_participants": "pastMeetingParticipants",
    "report_meeting_participants": "reportMeetingParticipants",
    "update_webinar": "webinarUpdate",
    "add_webinar_registrant": "webinarRegistrantCreate",
    "list_webinar_registrants": "webinarRegistrants",
    "update_webinar_registrant_status": "webinarRegistrantStatus",
    "delete_webinar_registrant": "deleteWebinarRegistrant",
    "list_past_webinar_participants": "listWebinarParticipants",
    "list_webinar_absentees": "webinarAbsentees",
    "list_user_recordings": "recordingsList",
    "get_meeting_recordings": "recordingGet",
    "delete_meeting_recordings": "recordingDelete",
    "delete_recording_file": "recordingDeleteOne",
    "recover_meeting_recordings": "recordingStatusUpdate",
    "recover_recording_file": "recordingStatusUpdateOne",
}
"""The emulator's name of each operation it serves from the spec -> the spec's ``operationId``."""

# Granular scopes (user-level form; the ``:admin`` form is added) of the operations whose spec
# entry has no ``x-granular-scopes``. Source: Zoom's per-endpoint API reference,
# https://developers.zoom.us/docs/api/meetings/ (granular scopes arrived after the spec copy).
GRANULAR_SCOPES: dict[str, str] = {
    "get_user": "user:read:user",
    "list_users": "user:read:list_users",
    "create_user": "user:write:user",
    "update_user": "user:update:user",
    "update_user_status": "user:update:status",
    "delete_user": "user:delete:user",
    "list_meetings": "meeting:read:list_meetings",
    "get_meeting": "meeting:read:meeting",
    "update_meeting": "meeting:update:meeting",
    "delete_meeting": "meeting:delete:meeting",
    "create_invite_links": "meeting:write:invite_links",
    "get_meeting_invitation": "meeting:read:invitation",
    "add_meeting_registrant": "meeting:write:registrant",
    "list_meeting_registrants": "meeting:read:list_registrants",
    "update_meeting_registrant_status": "meeting:update:registrant_status",
    "delete_meeting_registrant": "meeting:delete:registrant",
    "get_meeting_registration_questions": "meeting:read:list_registration_questions",
    "update_meeting_registration_questions": "meeting:update:registration_questions",
    "list_past_meeting_instances": "meeting:read:list_past_instances",
    "get_past_meeting": "meeting:read:past_meeting",
    "list_past_meeting_participants": "meeting:read:list_past_participants",
    "report_meeting_participants": "report:read:list_meeting_participants:admin",
    "list_user_recordings": "cloud_recording:read:list_user_recordings",
    "get_meeting_recordings": "cloud_recording:read:list_recording_files",
    "delete_meeting_recordings": "cloud_recording:delete:meeting_recording",
    "delete_recording_file": "cloud_recording:delete:recording_file",
    "recover_meeting_recordings": "cloud_recording:update:recover_meeting_recordings",
    "recover_recording_file": "cloud_recording:update:recover_single_recording",
}

# Where the spec copy is wrong. Its ``recordingGet`` lists ``phone_recording:read:admin`` (a Zoom
# Phone scope) instead of ``recording:read:admin``, unlike every other cloud-recording operation;
# Zoom's API reference for "Get meeting recordings" lists ``recording:read:admin``.
# Source: https://developers.zoom.us/docs/api/meetings/ (Cloud Recording, Get meeting recordings).
CLASSIC_SCOPE_ERRATA: dict[str, tuple[str, ...]] = {
    "get_meeting_recordings": ("recording:read", "recording:read:admin"),
}

ME_ONLY_SCOPES = frozenset({"user_info:read"})
"""Scopes usable only on ``me``. Source: the spec's ``user`` operation ("The ``user_info:read``
scope is only available when you pass the ``me`` value for the ``$userId`` value")."""


@dataclass(frozen=True)
class Operation:
    """One Zoom REST operation the emulator serves and what a token needs to call it."""

    name: str
    operation_id: str | None  # the spec's, or None for an endpoint the spec copy lacks
    method: str
    path: str
    label: str
    classic_scopes: tuple[str, ...]
    granular_scopes: tuple[str, ...]

    @property
    def all_scopes(self) -> tuple[str, ...]:
        return self.classic_scopes + self.granular_scopes

    @property
    def admin_scopes(self) -> frozenset[str]:
        """The scopes that act account-wide (``:admin``)."""
        return frozenset(s for s in self.all_scopes if s.endswith(":admin"))

    def allows(self, granted: Iterable[str], *, user_id: str = "me") -> bool:
        """True when one of the granted scopes opens this operation on ``user_id``."""
        usable = set(self.all_scopes) - (set() if user_id == "me" else ME_ONLY_SCOPES)
        return not usable.isdisjoint(granted)


def _with_admin(scope: str) -> tuple[str, ...]:
    return (scope,) if scope.endswith(":admin") else (scope, f"{scope}:admin")


def load_spec() -> dict[str, Any]:
    """The vendored OpenAPI spec, parsed."""
    text = resources.files("zoom_emulator").joinpath("spec", SPEC_FILE).read_text("utf-8")
    spec: dict[str, Any] = json.loads(text)
    return spec


def spec_operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every operation of the spec by ``operationId``: (method, path, operation object)."""
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def spec_scopes(op: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An operation's (classic, granular) scopes as the spec writes them."""
    extensions = op.get("extensions", {})
    classic = extensions.get("x-macro-scopes")
    if classic is None:  # the same list, in the OpenAPI place
        classic = [s for entry in op.get("security", []) for s in entry.get("openapi_oauth", [])]
    return tuple(classic), tuple(extensions.get("x-granular-scopes", ()))


def spec_label(op: dict[str, Any]) -> str:
    """An operation's rate-limit label, from its description's "Rate Limit Label" line."""
    found = _LABEL_LINE.search(op.get("description", ""))
    if found is None:
        raise ValueError(f"the spec gives no rate-limit label for {op.get('operationId')}")
    return LABELS[found.group(1).lower()]


def _from_spec(name: str, method: str, path: str, op: dict[str, Any]) -> Operation:
    classic, granular = spec_scopes(op)
    classic = CLASSIC_SCOPE_ERRATA.get(name, classic)
    if not granular:
        granular = _with_admin(GRANULAR_SCOPES[name])
        if all(s.endswith(":admin") for s in classic):  # admin-only operation
            granular = granular[-1:]
    return Operation(name, op["operationId"], method, path, spec_label(op), classic, granular)


# Endpoints the spec copy lacks. Sources: Zoom's API reference, "List recordings of an account"
# (https://developers.zoom.us/docs/api/meetings/, Cloud Recording; an admin-only Medium call), and
# the recording-file download URL (https://developers.zoom.us/blog/meeting-api-querying-tips-part4/:
# downloading a file takes the scopes that list it).
NOT_IN_SPEC = (
    Operation(
        "list_account_recordings",
        None,
        "GET",
        "/accounts/{accountId}/recordings",
        "Medium",
        ("recording:read:admin",),
        ("cloud_recording:read:list_account_recordings:admin",),
    ),
    Operation(
        "download_recording_file",
        None,
        "GET",
        "/rec/download/{fileId}",
        "Light",
        ("recording:read", "recording:read:admin"),
        _with_admin("cloud_recording:read:list_recording_files"),
    ),
)


@cache
def operations() -> dict[str, Operation]:
    """Every operation the emulator serves, by name."""
    by_id = spec_operations(load_spec())
    found = {name: _from_spec(name, *by_id[operation_id]) for name, operation_id in SERVED.items()}
    return found | {op.name: op for op in NOT_IN_SPEC}


def all_scopes() -> tuple[str, ...]:
    """Every scope an operation accepts: what the emulator's built-in apps are granted."""
    return tuple(sorted({s for op in operations().values() for s in op.all_scopes}))
