"""Cloud recordings as Zoom keeps them: date ranges, trash, removal, lookup and their JSON (no
HTTP here). The rules are described in :mod:`zoom_emulator.routes.recordings`."""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote

from zoom_emulator.models.access import Caller
from zoom_emulator.models.errors import validation_failed, zoom_error
from zoom_emulator.models.state import (
    EmulatorState,
    RecordingFile,
    RecordingMeeting,
    utcnow,
    zoom_time,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")

TrashType = Literal["meeting_recordings", "recording_file"]


def one_month_after(day: date) -> date:
    """The same day a calendar month later, clamped to that month's end."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    if year > date.max.year:
        return date.max
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _parse_day(value: str, field: str, errors: list[dict[str, str]]) -> date | None:
    """A ``yyyy-mm-dd`` day; a full ``yyyy-MM-ddTHH:mm:ssZ`` is taken as its UTC day (Zoom
    accepts it, and clients such as zoomus send it)."""
    try:
        if _DATE.match(value):
            return date.fromisoformat(value)
        if _DATE_TIME.match(value):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC).date()
        raise ValueError(value)
    except ValueError:
        errors.append({"field": field, "message": "Invalid date: use the yyyy-mm-dd format."})
        return None


def date_range(from_: str | None, to: str | None) -> tuple[date, date]:
    """The listing's days (both included), with Zoom's defaults and rules."""
    today = utcnow().date()
    errors: list[dict[str, str]] = []
    start = _parse_day(from_, "from", errors) if from_ is not None else today
    end = _parse_day(to, "to", errors) if to is not None else today + timedelta(days=1)
    if start is None or end is None:
        raise validation_failed(errors)
    if end < start:
        raise validation_failed([{"field": "to", "message": "'to' must not be before 'from'."}])
    if end > one_month_after(start):
        raise zoom_error("range_too_long")
    return start, end


def _trashed_at(item: RecordingMeeting | RecordingFile) -> str:
    return item.trashed_at or zoom_time(utcnow())


def move_to_trash(item: RecordingMeeting | RecordingFile) -> None:
    item.deleted = True
    item.trashed_at = zoom_time(utcnow())


def file_json(
    recording: RecordingMeeting, file: RecordingFile, base: str, *, trash: bool = False
) -> dict[str, Any]:
    """One entry of ``recording_files[]``."""
    end = recording.start_time + timedelta(minutes=recording.duration)
    entry: dict[str, Any] = {
        "id": file.id,
        "meeting_id": recording.uuid,
        "recording_start": zoom_time(recording.start_time),
        "recording_end": zoom_time(end),
        "file_type": file.file_type,
        "file_extension": file.file_extension,
        "file_size": file.file_size,
        "play_url": f"{base}/rec/play/{file.id}",
        "download_url": f"{base}/rec/download/{file.id}",
        "status": file.status,
        "recording_type": file.recording_type,
    }
    if trash:
        entry["deleted_time"] = _trashed_at(file if file.deleted else recording)
    return entry


def meeting_json(
    recording: RecordingMeeting,
    files: list[RecordingFile],
    base: str,
    *,
    trash: bool = False,
    host_email: str | None = None,
) -> dict[str, Any]:
    """A recorded meeting with the given files, as Zoom's lists and ``GET`` answer it."""
    share = hashlib.sha1(recording.uuid.encode()).hexdigest()
    entry: dict[str, Any] = {
        "uuid": recording.uuid,
        "id": recording.meeting_id,
        "account_id": recording.account_id,
        "host_id": recording.host_id,
        "topic": recording.topic,
        "type": "2",
        "start_time": zoom_time(recording.start_time),
        "timezone": "UTC",
        "duration": recording.duration,
        "total_size": sum(f.file_size for f in files),
        "recording_count": len(files),
        "share_url": f"{base}/rec/share/{share}",
        "recording_files": [file_json(recording, f, base, trash=trash) for f in files],
    }
    if host_email is not None:
        entry["host_email"] = host_email
    return entry


# ---- helpers: selecting recordings -------------------------------------------------------------
def visible_files(recording: RecordingMeeting) -> list[RecordingFile]:
    return [] if recording.deleted else [f for f in recording.files if not f.deleted]


def _trashed_files(recording: RecordingMeeting, trash_type: TrashType) -> list[RecordingFile]:
    if trash_type == "meeting_recordings":
        return list(recording.files) if recording.deleted else []
    return [] if recording.deleted else [f for f in recording.files if f.deleted]


def listing(
    state: EmulatorState,
    host_ids: set[str],
    *,
    start: date,
    end: date,
    trash: bool,
    trash_type: TrashType,
    meeting_id: int | None,
) -> list[tuple[RecordingMeeting, list[RecordingFile]]]:
    """The recordings a list shows, newest first, each with the files it shows."""
    chosen = []
    for recording in state.recordings.values():
        if recording.host_id not in host_ids:
            continue
        if meeting_id is not None and recording.meeting_id != meeting_id:
            continue
        if trash:
            files = _trashed_files(recording, trash_type)
        else:
            day = recording.start_time.date()
            files = visible_files(recording) if start <= day <= end else []
        if files:
            chosen.append((recording, files))
    chosen.sort(key=lambda pair: (pair[0].start_time, pair[0].uuid), reverse=True)
    return chosen


def decode_meeting_ref(raw: str) -> str:
    """A meeting id or UUID from its raw path segment, decoded as Zoom does (see module doc)."""
    once = unquote(raw)
    if "%" in once:
        return unquote(once)
    return re.sub(r"/+", "/", once).strip("/")


def find_recording(
    state: EmulatorState,
    caller: Caller,
    ref: str,
    wanted: Callable[[RecordingMeeting], bool],
) -> RecordingMeeting:
    """The caller's account's recording for a meeting number (latest instance) or a UUID."""
    candidates: Iterable[RecordingMeeting]
    if ref.isdigit():
        number = int(ref)
        candidates = [r for r in state.recordings.values() if r.meeting_id == number]
    else:
        found = state.recordings.get(ref)
        candidates = [found] if found is not None else []
    matching = [r for r in candidates if r.account_id == caller.account_id and wanted(r)]
    if not matching:
        raise zoom_error("no_recording")
    return max(matching, key=lambda r: r.start_time)


def find_file(recording: RecordingMeeting, recording_id: str) -> RecordingFile:
    for file in recording.files:
        if file.id == recording_id:
            return file
    raise zoom_error("no_recording")


def has_visible_files(recording: RecordingMeeting) -> bool:
    return bool(visible_files(recording))


def has_trash(recording: RecordingMeeting) -> bool:
    return recording.deleted or any(f.deleted for f in recording.files)


def exists(_: RecordingMeeting) -> bool:
    return True


def remove_recording(state: EmulatorState, recording: RecordingMeeting) -> None:
    state.recordings.pop(recording.uuid, None)
    for file in recording.files:
        state.files.pop(file.id, None)


def remove_file(state: EmulatorState, recording: RecordingMeeting, file: RecordingFile) -> None:
    recording.files = [f for f in recording.files if f.id != file.id]
    state.files.pop(file.id, None)
    if not recording.files:
        state.recordings.pop(recording.uuid, None)


def recover(recording: RecordingMeeting) -> None:
    """Bring a meeting instance's trashed recording files back."""
    recording.deleted = False
    for file in recording.files:
        file.deleted = False


def recover_file(recording: RecordingMeeting, file: RecordingFile) -> None:
    """Bring one trashed file back; from a trashed meeting, only that file (the others stay in
    the trash). 404 code 3301 when the file is not in the trash."""
    if recording.deleted:
        for other in recording.files:
            if other is not file and not other.deleted:
                move_to_trash(other)
        recording.deleted = False
    elif not file.deleted:
        raise zoom_error("no_recording")
    file.deleted = False
