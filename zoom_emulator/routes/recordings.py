"""Emulator routes: cloud recordings (list, get, trash, delete, recover), mounted under ``/v2``;
the logic is in :mod:`zoom_emulator.models.recordings`.

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

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from zoom_emulator.models import recordings
from zoom_emulator.models.access import Caller, owns_or_administers
from zoom_emulator.models.downloads import DOWNLOAD_TOKEN_TTL, issue_download_token
from zoom_emulator.models.errors import zoom_error
from zoom_emulator.models.operations import operations
from zoom_emulator.models.paging import paginate
from zoom_emulator.models.state import (
    EmulatorState,
    RecordingMeeting,
)
from zoom_emulator.routes.auth import caller_for, state_of

router = APIRouter()

DeleteAction = Literal["trash", "delete"]


class RecoverBody(BaseModel):
    """Body of the recover calls: ``{"action": "recover"}``."""

    action: Literal["recover"]


# ---- helpers: who may see what -----------------------------------------------------------------
def _check_owner(caller: Caller, operation_name: str, host_id: str) -> None:
    """400 / 200 when a user-level token reaches for another user's recordings."""
    if not owns_or_administers(caller, operations()[operation_name], host_id):
        raise zoom_error("no_permission")


# ---- helpers: JSON -----------------------------------------------------------------------------
def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


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
        trash_type: recordings.TrashType = Query("meeting_recordings"),
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
    start, end = recordings.date_range(query.from_, query.to)
    trash, trash_type, meeting_id = query.trash, query.trash_type, query.meeting_id
    chosen = recordings.listing(
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
        meetings.append(
            recordings.meeting_json(recording, files, base, trash=trash, host_email=email)
        )
    size = fields["page_size"]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "page_count": max(1, -(-fields["total_records"] // size)),
        **fields,
        "meetings": meetings,
    }


def raw_meeting_ref(
    request: Request,
    suffix_segments: int,
    *,
    collection: str = "meetings",
    placeholder: str = "meetingId",
) -> str:
    """The ``{meetingId}`` segment (``placeholder``, after ``/collection/``) exactly as the
    client sent it (still percent-encoded).

    ``suffix_segments`` counts the path segments after it (``recordings`` = 1,
    ``recordings/{recordingId}/status`` = 3).
    """
    raw = request.scope.get("raw_path")
    marker = f"/{collection}/"
    if not isinstance(raw, bytes) or marker.encode() not in raw:
        return str(request.path_params.get(placeholder, ""))
    rest = raw.decode("latin-1").split(marker, 1)[1]
    segments = rest.split("/")
    return "/".join(segments[: max(1, len(segments) - suffix_segments)])


def _meeting_from_path(
    request: Request,
    caller: Caller,
    operation_name: str,
    suffix_segments: int,
    wanted: Callable[[RecordingMeeting], bool],
) -> RecordingMeeting:
    """The recording the path names, once the caller may act on its host's recordings."""
    ref = recordings.decode_meeting_ref(raw_meeting_ref(request, suffix_segments))
    recording = recordings.find_recording(state_of(request), caller, ref, wanted)
    _check_owner(caller, operation_name, recording.host_id)
    return recording


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
    userId: str,
    request: Request,
    query: ListingQuery = Depends(),
    caller: Caller = Depends(caller_for("list_user_recordings")),
) -> dict[str, Any]:
    """A user's cloud recordings in a date range (or in the trash)."""
    state = state_of(request)
    user = state.find_user(userId, acting_user=caller.user, account_id=caller.account_id)
    if user is None:
        raise zoom_error("user_not_found", user_id=userId)
    _check_owner(caller, "list_user_recordings", user.id)
    return _list_answer(request, state, f"recordings:user:{user.id}", {user.id}, query)


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
    recording = _meeting_from_path(
        request, caller, "get_meeting_recordings", 1, recordings.has_visible_files
    )
    answer = recordings.meeting_json(recording, recordings.visible_files(recording), _base(request))
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
    wanted = recordings.has_visible_files if action == "trash" else recordings.exists
    recording = _meeting_from_path(request, caller, "delete_meeting_recordings", 1, wanted)
    if action == "trash":
        recordings.move_to_trash(recording)
    else:
        recordings.remove_recording(state, recording)
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
    recording = _meeting_from_path(request, caller, "delete_recording_file", 2, recordings.exists)
    file = recordings.find_file(recording, recording_id)
    if action == "trash":
        if recording.deleted or file.deleted:
            raise zoom_error("no_recording")
        recordings.move_to_trash(file)
    else:
        recordings.remove_file(state, recording, file)
    return Response(status_code=204)


@_meeting_route("PUT", "/recordings/status", status_code=204)
async def recover_meeting_recordings(
    request: Request,
    meeting_ref: str = Path(alias="meetingId"),
    body: RecoverBody = Body(...),
    caller: Caller = Depends(caller_for("recover_meeting_recordings")),
) -> Response:
    """Bring a meeting instance's trashed recording files back."""
    recording = _meeting_from_path(
        request, caller, "recover_meeting_recordings", 2, recordings.has_trash
    )
    recordings.recover(recording)
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
    recording = _meeting_from_path(
        request, caller, "recover_recording_file", 3, recordings.has_trash
    )
    recordings.recover_file(recording, recordings.find_file(recording, recording_id))
    return Response(status_code=204)
