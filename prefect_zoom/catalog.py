"""The Zoom operations this pack uses: method, path, rate-limit label and the scopes each needs.

One table serves both sides: the emulator enforces it and the pack's activities declare it, so a
connection can be checked before a request leaves. Scopes come from Zoom's OpenAPI spec
(``x-macro-scopes`` for classic, ``x-granular-scopes`` for granular) and ``docs/zoom-behaviour.md`` ("Endpoints").

An operation also builds the request it is called with: ``OPERATIONS["get_meeting"].bind(
meeting_id=85012345678)`` fills Zoom's path template with each segment encoded as Zoom requires
(:func:`encode_meeting_id`, :func:`encode_user_id`), so callers never write a path or a method;
:mod:`prefect_zoom.client.calls` sends it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypedDict, Unpack
from urllib.parse import quote

from prefect_zoom.exceptions import ZoomInputError


class RateLabel(str, Enum):
    """Zoom's rate-limit label of an endpoint."""

    LIGHT = "Light"
    MEDIUM = "Medium"
    HEAVY = "Heavy"
    RESOURCE_INTENSIVE = "Resource-intensive"


RATE_LIMITS: dict[str, dict[RateLabel, tuple[int, int]]] = {
    "pro": {
        RateLabel.LIGHT: (30, 1),
        RateLabel.MEDIUM: (20, 1),
        RateLabel.HEAVY: (10, 1),
        RateLabel.RESOURCE_INTENSIVE: (10, 60),
    },
    "business": {
        RateLabel.LIGHT: (80, 1),
        RateLabel.MEDIUM: (60, 1),
        RateLabel.HEAVY: (40, 1),
        RateLabel.RESOURCE_INTENSIVE: (20, 60),
    },
}
"""Zoom's rate limits per account: plan -> label -> (requests, window in seconds)."""


ME_ONLY_SCOPES = frozenset({"user_info:read"})
"""Scopes that allow a call only when it addresses ``me`` (Zoom: "only available when you pass
the ``me`` value")."""


class PathParams(TypedDict, total=False):
    """The path parameters of the catalog's operations, by their Python names."""

    user_id: str
    """``me``, a user id or an email (Zoom's ``{userId}``)."""
    meeting_id: int | str
    """A meeting number or a meeting instance UUID (``{meetingId}``, ``{meetingUUID}``)."""
    account_id: str
    """``me`` (the connection's account) or a sub account id (``{accountId}``)."""
    recording_id: str
    """A recording file id (``{recordingId}``)."""
    file_id: str
    """A recording file id in a download URL (``{fileId}``)."""
    registrant_id: str
    """A meeting registrant's id (``{registrantId}``)."""
    webinar_id: int | str
    """A webinar number (``{webinarId}``)."""


def encode_meeting_id(meeting_id: int | str) -> str:
    """A meeting number or UUID as a path segment, the way Zoom requires.

    Numbers pass as they are. UUIDs (they hold ``+``, ``/`` and ``=``) are always URL-encoded;
    a UUID that starts with ``/`` or contains ``//`` is encoded twice, or Zoom answers 404.
    """
    if isinstance(meeting_id, bool):
        raise ZoomInputError("meeting_id", "expected a meeting number or UUID", "Pass one.")
    if isinstance(meeting_id, int):
        return str(meeting_id)
    text = str(meeting_id).strip()
    if not text:
        raise ZoomInputError(
            "meeting_id", "is empty", "Pass a meeting number or a meeting instance UUID."
        )
    if text.isdigit():
        return text
    once = quote(text, safe="")
    return quote(once, safe="") if text.startswith("/") or "//" in text else once


def encode_user_id(user_id: str) -> str:
    """``me``, a user id or an email as a path segment (``@`` and ``+`` of emails kept)."""
    return quote(str(user_id).strip(), safe="@+")


def _encode_segment(value: str) -> str:
    return quote(str(value), safe="")


_PARAMETERS: dict[str, tuple[str, Callable[..., str]]] = {
    "userId": ("user_id", encode_user_id),
    "meetingId": ("meeting_id", encode_meeting_id),
    "meetingUUID": ("meeting_id", encode_meeting_id),
    "accountId": ("account_id", _encode_segment),
    "recordingId": ("recording_id", _encode_segment),
    "fileId": ("file_id", _encode_segment),
    "registrantId": ("registrant_id", _encode_segment),
    "webinarId": ("webinar_id", encode_meeting_id),
}
"""Zoom's placeholder -> (the :class:`PathParams` key that fills it, how its value is encoded)."""

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class Operation:
    """One Zoom REST operation and what it takes to call it."""

    name: str
    method: str
    path: str
    label: RateLabel
    classic_scopes: tuple[str, ...]
    granular_scopes: tuple[str, ...]
    counts_toward_daily_meeting_cap: bool = False

    def bind(self, **path_params: Unpack[PathParams]) -> BoundOperation:
        """This operation on the path its parameters fill (each value encoded for Zoom).

        A missing or unexpected parameter is a programming error (:class:`ValueError`); a value
        Zoom cannot take (empty, or ``.``/``..``, which would lead to another endpoint) raises
        :class:`ZoomInputError` naming it, so a task refuses it before it loads a connection.
        """
        given: dict[str, object] = dict(path_params)
        wanted = {_PARAMETERS[name][0] for name in _PLACEHOLDER.findall(self.path)}
        if set(given) != wanted:
            raise ValueError(
                f"{self.name} takes the path parameters {sorted(wanted)}, got {sorted(given)}"
            )

        def fill(match: re.Match[str]) -> str:
            key, encode = _PARAMETERS[match.group(1)]
            segment = encode(given[key])
            if segment in ("", ".", ".."):  # would address another endpoint than this one
                raise ZoomInputError(
                    key,
                    f"{given[key]!r} is not a value Zoom's {match.group(0)} can take",
                    "Pass the id itself; nothing was sent to Zoom.",
                )
            return segment

        return BoundOperation(self, _PLACEHOLDER.sub(fill, self.path))

    @property
    def all_scopes(self) -> tuple[str, ...]:
        return self.classic_scopes + self.granular_scopes

    def usable_scopes(self, *, user_id: str = "me") -> tuple[str, ...]:
        """The scopes that allow this call; ``user_info:read`` only when it addresses ``me``
        (Zoom's rule)."""
        if user_id == "me":
            return self.all_scopes
        return tuple(s for s in self.all_scopes if s not in ME_ONLY_SCOPES)

    def is_satisfied_by(self, granted: Iterable[str], *, user_id: str = "me") -> bool:
        """True when any of the granted scopes allows this operation on ``user_id``."""
        return bool(set(granted) & set(self.usable_scopes(user_id=user_id)))

    def scopes_to_add(self, *, user_id: str = "me") -> tuple[str, ...]:
        """The least-privileged scopes to suggest for a call on ``user_id``: user-level classic
        and granular forms (never a scope that reads only ``me`` for another user)."""
        usable = self.usable_scopes(user_id=user_id)
        return tuple(s for s in usable if not s.endswith(":admin")) or usable


@dataclass(frozen=True)
class BoundOperation:
    """An operation and the path it is sent to: everything a client needs but the body."""

    operation: Operation
    path: str

    @property
    def method(self) -> str:
        return self.operation.method


def _op(
    name: str,
    method: str,
    path: str,
    label: RateLabel,
    classic: str,
    granular: str,
    *,
    admin_only: bool = False,
    daily_cap: bool = False,
    extra_classic: tuple[str, ...] = (),
) -> Operation:
    classic_scopes = (f"{classic}:admin",) if admin_only else (classic, f"{classic}:admin")
    granular_scopes = (f"{granular}:admin",) if admin_only else (granular, f"{granular}:admin")
    return Operation(
        name=name,
        method=method,
        path=path,
        label=label,
        classic_scopes=classic_scopes + extra_classic,
        granular_scopes=granular_scopes,
        counts_toward_daily_meeting_cap=daily_cap,
    )


L, M = RateLabel.LIGHT, RateLabel.MEDIUM

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in [
        # users
        _op(
            "get_user",
            "GET",
            "/users/{userId}",
            L,
            "user:read",
            "user:read:user",
            extra_classic=("user_info:read",),
        ),
        _op("list_users", "GET", "/users", M, "user:read", "user:read:list_users", admin_only=True),
        _op("create_user", "POST", "/users", L, "user:write", "user:write:user", admin_only=True),
        _op("update_user", "PATCH", "/users/{userId}", L, "user:write", "user:update:user"),
        _op(
            "update_user_status",
            "PUT",
            "/users/{userId}/status",
            L,
            "user:write",
            "user:update:status",
        ),
        _op("delete_user", "DELETE", "/users/{userId}", L, "user:write", "user:delete:user"),
        # meetings
        _op(
            "create_meeting",
            "POST",
            "/users/{userId}/meetings",
            M,
            "meeting:write",
            "meeting:write:meeting",
            daily_cap=True,
        ),
        _op(
            "list_meetings",
            "GET",
            "/users/{userId}/meetings",
            M,
            "meeting:read",
            "meeting:read:list_meetings",
        ),
        _op(
            "get_meeting", "GET", "/meetings/{meetingId}", L, "meeting:read", "meeting:read:meeting"
        ),
        _op(
            "update_meeting",
            "PATCH",
            "/meetings/{meetingId}",
            L,
            "meeting:write",
            "meeting:update:meeting",
            daily_cap=True,
        ),
        _op(
            "delete_meeting",
            "DELETE",
            "/meetings/{meetingId}",
            L,
            "meeting:write",
            "meeting:delete:meeting",
        ),
        _op(
            "create_invite_links",
            "POST",
            "/meetings/{meetingId}/invite_links",
            L,
            "meeting:write",
            "meeting:write:invite_links",
        ),
        _op(
            "get_meeting_invitation",
            "GET",
            "/meetings/{meetingId}/invitation",
            L,
            "meeting:read",
            "meeting:read:invitation",
        ),
        _op(
            "add_meeting_registrant",
            "POST",
            "/meetings/{meetingId}/registrants",
            L,
            "meeting:write",
            "meeting:write:registrant",
        ),
        # meeting registrants and registration questions
        _op(
            "list_meeting_registrants",
            "GET",
            "/meetings/{meetingId}/registrants",
            M,
            "meeting:read",
            "meeting:read:list_registrants",
        ),
        _op(
            "update_meeting_registrant_status",
            "PUT",
            "/meetings/{meetingId}/registrants/status",
            M,
            "meeting:write",
            "meeting:update:registrant_status",
        ),
        _op(
            "delete_meeting_registrant",
            "DELETE",
            "/meetings/{meetingId}/registrants/{registrantId}",
            L,
            "meeting:write",
            "meeting:delete:registrant",
        ),
        _op(
            "get_meeting_registration_questions",
            "GET",
            "/meetings/{meetingId}/registrants/questions",
            L,
            "meeting:read",
            "meeting:read:list_registration_questions",
        ),
        _op(
            "update_meeting_registration_questions",
            "PATCH",
            "/meetings/{meetingId}/registrants/questions",
            L,
            "meeting:write",
            "meeting:update:registration_questions",
        ),
        # webinars
        _op(
            "create_webinar",
            "POST",
            "/users/{userId}/webinars",
            L,
            "webinar:write",
            "webinar:write:webinar",
        ),
        _op(
            "list_webinars",
            "GET",
            "/users/{userId}/webinars",
            M,
            "webinar:read",
            "webinar:read:list_webinars",
        ),
        _op(
            "get_webinar", "GET", "/webinars/{webinarId}", L, "webinar:read", "webinar:read:webinar"
        ),
        _op(
            "delete_webinar",
            "DELETE",
            "/webinars/{webinarId}",
            L,
            "webinar:write",
            "webinar:delete:webinar",
        ),
        # past meetings and their attendance (report: admin only, Heavy)
        _op(
            "list_past_meeting_instances",
            "GET",
            "/past_meetings/{meetingId}/instances",
            M,
            "meeting:read",
            "meeting:read:list_past_instances",
        ),
        _op(
            "get_past_meeting",
            "GET",
            "/past_meetings/{meetingId}",
            L,
            "meeting:read",
            "meeting:read:past_meeting",
        ),
        _op(
            "list_past_meeting_participants",
            "GET",
            "/past_meetings/{meetingId}/participants",
            M,
            "meeting:read",
            "meeting:read:list_past_participants",
        ),
        _op(
            "report_meeting_participants",
            "GET",
            "/report/meetings/{meetingId}/participants",
            RateLabel.HEAVY,
            "report:read",
            "report:read:list_meeting_participants",
            admin_only=True,
        ),
        _op(
            "update_webinar",
            "PATCH",
            "/webinars/{webinarId}",
            L,
            "webinar:write",
            "webinar:update:webinar",
        ),
        # webinar registrants, and who came to a held webinar
        _op(
            "add_webinar_registrant",
            "POST",
            "/webinars/{webinarId}/registrants",
            L,
            "webinar:write",
            "webinar:write:registrant",
        ),
        _op(
            "list_webinar_registrants",
            "GET",
            "/webinars/{webinarId}/registrants",
            M,
            "webinar:read",
            "webinar:read:list_registrants",
        ),
        _op(
            "update_webinar_registrant_status",
            "PUT",
            "/webinars/{webinarId}/registrants/status",
            M,
            "webinar:write",
            "webinar:update:registrant_status",
        ),
        _op(
            "delete_webinar_registrant",
            "DELETE",
            "/webinars/{webinarId}/registrants/{registrantId}",
            L,
            "webinar:write",
            "webinar:delete:registrant",
        ),
        Operation(  # the spec lists this one's granular scopes :admin first (Zoom's 4711 order)
            "list_past_webinar_participants",
            "GET",
            "/past_webinars/{webinarId}/participants",
            M,
            ("webinar:read", "webinar:read:admin"),
            ("webinar:read:list_past_participants:admin", "webinar:read:list_past_participants"),
        ),
        _op(
            "list_webinar_absentees",
            "GET",
            "/past_webinars/{webinarId}/absentees",
            RateLabel.HEAVY,
            "webinar:read",
            "webinar:read:list_absentees",
        ),
        # recordings
        _op(
            "list_user_recordings",
            "GET",
            "/users/{userId}/recordings",
            M,
            "recording:read",
            "cloud_recording:read:list_user_recordings",
        ),
        _op(
            "list_account_recordings",
            "GET",
            "/accounts/{accountId}/recordings",
            M,
            "recording:read",
            "cloud_recording:read:list_account_recordings",
            admin_only=True,
        ),
        _op(
            "get_meeting_recordings",
            "GET",
            "/meetings/{meetingId}/recordings",
            L,
            "recording:read",
            "cloud_recording:read:list_recording_files",
        ),
        _op(
            "download_recording_file",
            "GET",
            "/rec/download/{fileId}",
            L,
            "recording:read",
            "cloud_recording:read:list_recording_files",
        ),
        _op(
            "delete_meeting_recordings",
            "DELETE",
            "/meetings/{meetingId}/recordings",
            L,
            "recording:write",
            "cloud_recording:delete:meeting_recording",
        ),
        _op(
            "delete_recording_file",
            "DELETE",
            "/meetings/{meetingId}/recordings/{recordingId}",
            L,
            "recording:write",
            "cloud_recording:delete:recording_file",
        ),
        _op(
            "recover_meeting_recordings",
            "PUT",
            "/meetings/{meetingUUID}/recordings/status",
            L,
            "recording:write",
            "cloud_recording:update:recover_meeting_recordings",
        ),
        _op(
            "recover_recording_file",
            "PUT",
            "/meetings/{meetingId}/recordings/{recordingId}/status",
            L,
            "recording:write",
            "cloud_recording:update:recover_single_recording",
        ),
    ]
}

ALL_SCOPES: tuple[str, ...] = tuple(
    sorted({scope for op in OPERATIONS.values() for scope in op.all_scopes})
)
"""Every scope any operation above accepts (what the emulator's built-in apps are granted)."""


def missing_scope_message(operation: Operation) -> str:
    """Zoom's message for a token that lacks the operation's scopes (HTTP 400, code 4711)."""
    wanted = ", ".join(operation.granular_scopes)
    return f"Invalid access token, does not contain scopes:[{wanted}]."


# ---- finding an operation ----------------------------------------------------------------------
def operation_named(name: str | Operation | None) -> Operation | None:
    """The catalog entry for an operation name (an :class:`Operation` and ``None`` pass
    through: a raw request's ad hoc operation carries only its rate label)."""
    if name is None or isinstance(name, Operation):
        return name
    try:
        return OPERATIONS[name]
    except KeyError:
        raise ValueError(f"unknown Zoom operation {name!r}; see prefect_zoom.catalog") from None


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template.strip("/"))
    pattern = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^/?{pattern}/?$")


def operation_for(method: str, path: str) -> Operation | None:
    """The catalog operation whose method and path template match a request, else ``None``."""
    bare = path.split("?", 1)[0].strip("/")
    for operation in OPERATIONS.values():
        if operation.method == method.upper() and _template_regex(operation.path).match(bare):
            return operation
    return None


def user_id_in(operation: Operation, path: str) -> str:
    """The ``{userId}`` a path of ``operation`` addresses (``me`` when the operation has none)."""
    if "{userId}" not in operation.path:
        return "me"
    match = _template_regex(operation.path).match(path.split("?", 1)[0].strip("/"))
    return match.group("userId") if match else "me"
