"""The Zoom operations this pack uses: path, rate-limit label and the scopes each one needs.

One table serves both sides: the emulator enforces it and the pack's activities declare it, so a
connection can be checked before a request leaves. Scopes come from Zoom's OpenAPI spec
(``x-macro-scopes`` for classic, ``x-granular-scopes`` for granular) and ``docs/zoom-behaviour.md`` ("Endpoints").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


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
