"""Emulator routes: cloud recordings (list, get, trash, delete, recover), mounted under ``/v2``.

Behaviour worth knowing (see ``docs/zoom-behaviour.md``, "Recording files and downloads"):

* Lists take ``from``/``to`` as ``yyyy-mm-dd`` (UTC, both days included; a full
  ``yyyy-MM-ddTHH:mm:ssZ`` counts as its UTC day, as Zoom tolerates it). Absent, ``from`` is
  today and ``to`` tomorrow, as Zoom's spec documents, so the seeded recordings (yesterday) only
  show with an explicit ``from``. ``to`` may be at most one calendar month after ``from``
  (2024-01-31 → 2024-02-29): beyond that the answer is 400 code 300 "The date range exceeds one
  month. …"; ``to`` before ``from`` or a malformed date is 400 code 300 "Validation Failed." with
  ``errors[]``. With ``trash=true`` the dates are validated but do not filter (Zoom's note).
* Newest recording first, cut into pages by :func:`~zoom_emulator.models.paging.paginate`.
* ``{meetingId}`` is a meeting number (its latest recorded instance) or a UUID, read from the raw
  request path as Zoom's gateway reads it: decoded once, and if that still holds ``%`` (the client
  double-encoded it), decoded again. A singly encoded UUID that starts with ``/`` or holds ``//``
  loses those slashes on the way (empty path segments collapse), so Zoom — and this emulator —
  answer 404 code 3301 for it. Always encode UUIDs; double-encode those ones.
* Trash: ``DELETE …?action=trash`` (default) moves a meeting's recordings or one file to the trash,
  ``action=delete`` removes them for good (their downloads then 404). ``PUT …/status``
  ``{"action": "recover"}`` brings them back. Trashed items leave the normal lists and show with
  ``trash=true`` (``trash_type`` ``meeting_recordings`` or ``recording_file``).
* A token without the operation's ``:admin`` scopes may only touch its own user's recordings;
  otherwise 400 code 200 "No permission.".
* The meeting ``type`` is a string (``"2"``), as Zoom's OpenAPI spec types it.
* Files Zoom is still processing (``processing_file_types`` of ``POST /_emulator/recordings``)
  are listed with ``status: "processing"`` and cannot be downloaded (404 code 3301) until
  ``POST /_emulator/recordings/{uuid}/complete``; trashing or deleting them works as for others.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import unquote

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from zoom_emulator.models.access import Caller, owns_or_administers
from zoom_emulator.models.errors import ZoomError, validation_failed, zoom_error
from zoom_emulator.models.operations import operations
from zoom_emulator.models.paging import paginate
from zoom_emulator.models.state import (
    EmulatorState,
    RecordingFile,
    RecordingMeeting,
    User,
    utcnow,
    zoom_time,
)
from zoom_emulator.routes.auth import caller_for, state_of
from zoom_emulator.routes.downloads import DOWNLOAD_TOKEN_TTL, issue_download_token

router = APIRouter()

RANGE_TOO_LONG_MESSAGE = (
    "The date range exceeds one month. 'from' and 'to' may be at most one month apart."
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")

TrashType = Literal["meeting_recordings", "recording_file"]
DeleteAction = Literal["trash", "delete"]


class RecoverBody(BaseModel):
    """Body of the recover calls: ``{"action": "recover"}``."""

    action: Literal["recover"]


# ---- helpers: dates ----------------------------------------------------------------------------
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
        raise ZoomError(400, 300, RANGE_TOO_LONG_MESSAGE)
    return start, end


# ---- helpers: who may see what -----------------------------------------------------------------
def _check_owner(caller: Caller, operation_name: str, host_id: str) -> None:
    """400 / 200 when a user-level token reaches for another user's recordings."""
    if not owns_or_administers(caller, operations()[operation_name], host_id):
        raise zoom_error("no_permission")


# ---- helpers: JSON -----------------------------------------------------------------------------
def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _trashed_at(item: RecordingMeeting | RecordingFile) -> str:
    return item.trashed_at or zoom_time(utcnow())


def _trash(item: RecordingMeeting | RecordingFile) -> None:
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
def _visible_files(recording: RecordingMeeting) -> list[RecordingFile]:
    return [] if recording.deleted else [f for f in recording.files if not f.deleted]


def _trashed_files(recording: RecordingMeeting, trash_type: TrashType) -> list[RecordingFile]:
    if trash_type == "meeting_recordings":
        return list(recording.files) if recording.deleted else []
    return [] if recording.deleted else [f for f in recording.files if f.deleted]


def _listing(
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
            files = _visible_files(recording) if start <= day <= end else []
        if files:
            chosen.append((recording, files))
    chosen.sort(key=lambda pair: (pair[0].start_time, pair[0].uuid), reverse=True)
    return chosen


class ListingQuery:
    """The query of both recording lists (per user and per account)."""

    def __init__(
        self,
        from_: str | None = Query(None, alias="from"),
        to: str | None = Query(None),
        page_size: int | None = Query(None),
        next_page_token: str | None = Query(None),
        mc: str = Query("false"),
        trash: bool = Query(False),
        trash_type: TrashType = Query("meeting_recordings"),
        meeting_id: int | None = Query(None),
    ) -> None:
        self.from_, self.to = from_, to
        self.page_size, self.next_page_token = page_size, next_page_token
        self.mc, self.trash, self.trash_type, self.meeting_id = mc, trash, trash_type, meeting_id


def _list_answer(
    request: Request,
    state: EmulatorState,
    key: str,
    host_ids: set[str],
    query: ListingQuery,
    *,
    with_host_email: bool = False,
) -> dict[str, Any]:
    start, end = date_range(query.from_, query.to)
    trash, trash_type, meeting_id = query.trash, query.trash_type, query.meeting_id
    chosen = _listing(
        state,
        host_ids,
        start=start,
        end=end,
        trash=trash,
        trash_type=trash_type,
        meeting_id=meeting_id,
    )
    key = f"{key}:{start}:{end}:{trash}:{trash_type}:{meeting_id}"
    page, fields = paginate(state, key, chosen, query.page_size, query.next_page_token)
    base = _base(request)
    meetings = []
    for recording, files in page:
        host = state.users.get(recording.host_id)
        email = host.email if (with_host_email and host is not None) else None
        meetings.append(meeting_json(recording, files, base, trash=trash, host_email=email))
    size = fields["page_size"]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "page_count": max(1, -(-fields["total_records"] // size)),
        **fields,
        "meetings": meetings,
    }


def raw_meeting_ref(request: Request, suffix_segments: int) -> str:
    """The ``{meetingId}`` segment exactly as the client sent it (still percent-encoded).

    ``suffix_segments`` counts the path segments after it (``recordings`` = 1,
    ``recordings/{recordingId}/status`` = 3).
    """
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes) or b"/meetings/" not in raw:
        return str(request.path_params.get("meetingId", ""))
    rest = raw.decode("latin-1").split("/meetings/", 1)[1]
    segments = rest.split("/")
    return "/".join(segments[: max(1, len(segments) - suffix_segments)])


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


def _meeting_from_path(
    request: Request,
    caller: Caller,
    suffix_segments: int,
    wanted: Callable[[RecordingMeeting], bool],
) -> RecordingMeeting:
    ref = decode_meeting_ref(raw_meeting_ref(request, suffix_segments))
    return find_recording(state_of(request), caller, ref, wanted)


def _find_file(recording: RecordingMeeting, recording_id: str) -> RecordingFile:
    for file in recording.files:
        if file.id == recording_id:
            return file
    raise zoom_error("no_recording")


def _has_visible_files(recording: RecordingMeeting) -> bool:
    return bool(_visible_files(recording))


def _has_trash(recording: RecordingMeeting) -> bool:
    return recording.deleted or any(f.deleted for f in recording.files)


def _exists(_: RecordingMeeting) -> bool:
    return True


def _remove_recording(state: EmulatorState, recording: RecordingMeeting) -> None:
    state.recordings.pop(recording.uuid, None)
    for file in recording.files:
        state.files.pop(file.id, None)


def _remove_file(state: EmulatorState, recording: RecordingMeeting, file: RecordingFile) -> None:
    recording.files = [f for f in recording.files if f.id != file.id]
    state.files.pop(file.id, None)
    if not recording.files:
        state.recordings.pop(recording.uuid, None)


# ---- routes ------------------------------------------------------------------------------------
Route = TypeVar("Route", bound=Callable[..., Any])


def _meeting_route(method: str, suffix: str, **options: Any) -> Callable[[Route], Route]:
    """Register a ``/meetings/{meetingId}…`` route twice: as usual, then with a ``{meetingId}``
    that may hold ``/`` (a singly encoded UUID with a slash arrives decoded), so such requests
    reach the handler, which reads the raw path, instead of a generic 404."""

    def register(handler: Route) -> Route:
        router.add_api_route(
            f"/meetings/{{meetingId}}{suffix}", handler, methods=[method], **options
        )
        router.add_api_route(
            f"/meetings/{{meetingId:path}}{suffix}",
            handler,
            methods=[method],
            include_in_schema=False,
            **options,
        )
        return handler

    return register


@router.get("/users/{userId}/recordings")
async def list_user_recordings(
    request: Request,
    user_id: str = Path(alias="userId"),
    query: ListingQuery = Depends(),
    caller: Caller = Depends(caller_for("list_user_recordings")),
) -> dict[str, Any]:
    """A user's cloud recordings in a date range (or in the trash)."""
    state = state_of(request)
    user: User | None = state.find_user(
        user_id, acting_user=caller.user, account_id=caller.account_id
    )
    if user is None:
        raise zoom_error("user_not_found", user_id=user_id)
    _check_owner(caller, "list_user_recordings", user.id)
    return _list_answer(
        request,
        state,
        f"recordings:user:{user.id}",
        {user.id},
        query,
    )


@router.get("/accounts/{accountId}/recordings")
async def list_account_recordings(
    request: Request,
    account_id: str = Path(alias="accountId"),
    query: ListingQuery = Depends(),
    caller: Caller = Depends(caller_for("list_account_recordings")),
) -> dict[str, Any]:
    """Every user's cloud recordings on an account (``me`` = the caller's), admin only."""
    state = state_of(request)
    if account_id not in ("me", caller.account_id):
        raise zoom_error("no_permission")
    hosts = {u.id for u in state.users.values() if u.account_id == caller.account_id}
    return _list_answer(
        request,
        state,
        f"recordings:account:{caller.account_id}",
        hosts,
        query,
        with_host_email=True,
    )


@_meeting_route("GET", "/recordings")
async def get_meeting_recordings(
    request: Request,
    meeting_ref: str = Path(alias="meetingId"),
    include_fields: str | None = Query(None),
    ttl: int | None = Query(None, ge=0, le=604_800),
    caller: Caller = Depends(caller_for("get_meeting_recordings")),
) -> dict[str, Any]:
    """One meeting instance's recording files (a meeting number means its latest instance)."""
    state = state_of(request)
    recording = _meeting_from_path(request, caller, 1, _has_visible_files)
    _check_owner(caller, "get_meeting_recordings", recording.host_id)
    answer = meeting_json(recording, _visible_files(recording), _base(request))
    answer["password"] = recording.password
    fields = {f.strip() for f in (include_fields or "").split(",")}
    if "download_access_token" in fields:
        token = issue_download_token(
            state, recording.account_id, recording.uuid, ttl or DOWNLOAD_TOKEN_TTL
        )
        answer["download_access_token"] = token.value
    return answer


@_meeting_route("DELETE", "/recordings", status_code=204)
async def delete_meeting_recordings(
    request: Request,
    meeting_ref: str = Path(alias="meetingId"),
    action: DeleteAction = Query("trash"),
    caller: Caller = Depends(caller_for("delete_meeting_recordings")),
) -> Response:
    """Trash (default) or delete for good all recording files of a meeting instance."""
    state = state_of(request)
    wanted = _has_visible_files if action == "trash" else _exists
    recording = _meeting_from_path(request, caller, 1, wanted)
    _check_owner(caller, "delete_meeting_recordings", recording.host_id)
    if action == "trash":
        _trash(recording)
    else:
        _remove_recording(state, recording)
    return Response(status_code=204)


@_meeting_route("DELETE", "/recordings/{recordingId}", status_code=204)
async def delete_recording_file(
    request: Request,
    meeting_ref: str = Path(alias="meetingId"),
    recording_id: str = Path(alias="recordingId"),
    action: DeleteAction = Query("trash"),
    caller: Caller = Depends(caller_for("delete_recording_file")),
) -> Response:
    """Trash (default) or delete for good one recording file."""
    state = state_of(request)
    recording = _meeting_from_path(request, caller, 2, _exists)
    _check_owner(caller, "delete_recording_file", recording.host_id)
    file = _find_file(recording, recording_id)
    if action == "trash":
        if recording.deleted or file.deleted:
            raise zoom_error("no_recording")
        _trash(file)
    else:
        _remove_file(state, recording, file)
    return Response(status_code=204)


@_meeting_route("PUT", "/recordings/status", status_code=204)
async def recover_meeting_recordings(
    request: Request,
    meeting_ref: str = Path(alias="meetingId"),
    body: RecoverBody = Body(...),
    caller: Caller = Depends(caller_for("recover_meeting_recordings")),
) -> Response:
    """Bring a meeting instance's trashed recording files back."""
    recording = _meeting_from_path(request, caller, 2, _has_trash)
    _check_owner(caller, "recover_meeting_recordings", recording.host_id)
    recording.deleted = False
    for file in recording.files:
        file.deleted = False
    return Response(status_code=204)


@_meeting_route("PUT", "/recordings/{recordingId}/status", status_code=204)
async def recover_recording_file(
    request: Request,
    meeting_ref: str = Path(alias="meetingId"),
    recording_id: str = Path(alias="recordingId"),
    body: RecoverBody = Body(...),
    caller: Caller = Depends(caller_for("recover_recording_file")),
) -> Response:
    """Bring one trashed recording file back (from a trashed meeting: only that file)."""
    recording = _meeting_from_path(request, caller, 3, _has_trash)
    _check_owner(caller, "recover_recording_file", recording.host_id)
    file = _find_file(recording, recording_id)
    if recording.deleted:
        for other in recording.files:
            if other is not file and not other.deleted:
                _trash(other)
        recording.deleted = False
    elif not file.deleted:
        raise zoom_error("no_recording")
    file.deleted = False
    return Response(status_code=204)
