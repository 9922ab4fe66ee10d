"""Safe to run again: a meeting's stable key, and the marker that records it in Zoom itself.

The key is a digest of what makes a scheduled meeting "the same one": host, topic, start time
(as a UTC instant, however it was written) and recurrence. It is written as the first line of the
meeting's agenda, ``[prefect-zoom <key>]``, because Zoom's list of a user's meetings returns the
agenda (cut to 250 characters), so one list call finds every meeting an earlier run made,
whichever worker made it and whatever happened to the Prefect run that did.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect_zoom.models import MeetingRequest

ZOOM_MAX_AGENDA = 2000
KEY_LENGTH = 20
_MARKER = re.compile(rf"^\[prefect-zoom ([0-9a-f]{{{KEY_LENGTH}}})\]")
MARKER_LENGTH = len(f"[prefect-zoom {'0' * KEY_LENGTH}]\n")
MAX_MARKED_AGENDA = ZOOM_MAX_AGENDA - MARKER_LENGTH
"""The longest agenda of a keyed meeting: Zoom's 2000 less the marker line."""


def schedule_key(user_id: str, request: MeetingRequest) -> str:
    """The stable key of a meeting request for a host: same host, topic, start, recurrence."""
    body = request.to_zoom()
    parts = [
        user_id.strip().lower(),
        str(body.get("topic") or "").strip(),
        _instant(request.start_time, request.timezone),
        body.get("recurrence"),
    ]
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def _instant(start: datetime | None, zone: str | None) -> str:
    """The start as a UTC instant, whether given aware or as a local time in ``zone``."""
    if start is None:
        return ""
    if start.tzinfo is None:
        try:
            start = start.replace(tzinfo=ZoneInfo(str(zone)))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return f"{start.isoformat()} {zone}"  # Zoom will refuse the zone anyway
    return start.astimezone(UTC).isoformat()


def marked_agenda(key: str, agenda: str | None) -> str:
    """The agenda to send: the marker line first, then the person's agenda."""
    marker = f"[prefect-zoom {key}]"
    return f"{marker}\n{agenda}" if agenda else marker


def key_in(agenda: str | None) -> str | None:
    """The key a meeting's agenda carries (also in a listed, cut agenda), or ``None``."""
    found = _MARKER.match(agenda or "")
    return found.group(1) if found else None


__all__ = ["MAX_MARKED_AGENDA", "key_in", "marked_agenda", "schedule_key"]
