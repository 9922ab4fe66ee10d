"""Cloud recording tasks: list, get, download, trash or delete, and recover.

Zoom's rules these tasks follow (``docs/zoom-behaviour.md``, "Endpoints" and "Pagination"):
lists take at most one month at a time (longer ranges are split), every page is followed, meeting
UUIDs are always URL-encoded and encoded twice when they start with ``/`` or hold ``//``, and
downloads stream to disk with resume, verification and atomic landing
(:mod:`prefect_zoom.transfer`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from prefect import get_run_logger
from prefect.filesystems import WritableFileSystem

from prefect_zoom.auth.tokens import as_utc
from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.client.calls import call, call_json, call_pages
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.models._base import parse_input
from prefect_zoom.models.recordings import FILE_TYPES, DateRange, RecordingFile, RecordingMeeting
from prefect_zoom.tasks._common import CredentialsLike, check_page_size, client_for, zoom_task
from prefect_zoom.transfer import (
    DownloadJob,
    DownloadResult,
    TransferOptions,
    download_many,
    download_recording,
)
from prefect_zoom.transfer.destinations import store_for

DEFAULT_DESTINATION = "zoom-recordings"
DeleteAction = Literal["trash", "delete"]


# ---- helpers -----------------------------------------------------------------------------------
def _as_date(value: date | str | None, field: str, default: date) -> date:
    if value is None:
        return default
    if isinstance(value, datetime):
        return as_utc(value).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ZoomInputError(
            field, f"{value!r} is not a date", "Use a date or a 'yyyy-mm-dd' string (UTC)."
        ) from None


def _date_range(from_date: date | str | None, to_date: date | str | None) -> DateRange:
    today = datetime.now(UTC).date()
    start = _as_date(from_date, "from_date", today - timedelta(days=1))
    end = _as_date(to_date, "to_date", today)
    if end < start:
        raise ZoomInputError(
            "to_date",
            f"the range ends ({end}) before it starts ({start})",
            "Swap from_date and to_date; nothing was sent to Zoom.",
        )
    return DateRange(start=start, end=end)


def file_types_filter(file_types: list[str] | None) -> set[str] | None:
    if file_types is None:
        return None
    if isinstance(file_types, str):
        file_types = [file_types]
    wanted = {str(t).strip().upper() for t in file_types}
    unknown = sorted(wanted - set(FILE_TYPES))
    if unknown:
        raise ZoomInputError(
            "file_types",
            f"unknown file types {unknown}",
            f"Use some of {', '.join(FILE_TYPES)}; nothing was sent to Zoom.",
        )
    return wanted


def _on_recordings(
    credentials: CredentialsLike,
    meeting_id: int | str,
    recording_id: str | None,
    operations: tuple[str, str],
    *,
    params: dict[str, str] | None = None,
    json: dict[str, str] | None = None,
) -> str:
    """Send the first of ``operations`` on a meeting's recordings, or the second on one file
    (``recording_id``); what it acted on, for the log."""
    all_files, one_file = (OPERATIONS[name] for name in operations)
    if recording_id is None:
        target = all_files.bind(meeting_id=meeting_id)
    elif not str(recording_id).strip():
        raise ZoomInputError("recording_id", "is empty", "Pass a file id, or None for all files.")
    else:
        target = one_file.bind(meeting_id=meeting_id, recording_id=str(recording_id))
    with client_for(credentials) as zoom:
        call(zoom, target, params=params, json=json)
    return f"file {recording_id}" if recording_id else "all files"


# ---- tasks -------------------------------------------------------------------------------------
@zoom_task("list_user_recordings", name="Zoom: list recordings", tags=("recordings",))
def list_recordings(
    credentials: CredentialsLike,
    user_id: str | None = "me",
    *,
    from_date: date | None = None,
    to_date: date | None = None,
    trash: bool = False,
    page_size: int = 300,
) -> list[RecordingMeeting]:
    """Cloud recordings of a user (``"me"``, an id or an email) or, with ``user_id=None``, of the
    whole account (admin scopes), between two UTC days (both included).

    The default range is yesterday and today (UTC). Longer ranges are split into Zoom's
    one-month windows; every page is followed and each recording appears once. With
    ``trash=True`` the trashed recordings are listed instead.
    """
    window = _date_range(from_date, to_date)
    check_page_size(page_size)
    if user_id is not None and not str(user_id).strip():
        raise ZoomInputError("user_id", "is empty", "Pass 'me', a user id or an email.")
    if user_id is None:
        recordings_of = OPERATIONS["list_account_recordings"].bind(account_id="me")
    else:
        recordings_of = OPERATIONS["list_user_recordings"].bind(user_id=str(user_id))
    log = get_run_logger()
    seen: dict[str, RecordingMeeting] = {}
    with client_for(credentials) as zoom:
        for start, end in window.month_windows():
            params = {"from": start.isoformat(), "to": end.isoformat()}
            if trash:
                params["trash"] = "true"
            for item in call_pages(zoom, recordings_of, "meetings", params, page_size=page_size):
                meeting = RecordingMeeting.model_validate(item)
                seen.setdefault(meeting.uuid, meeting)
    log.info(
        "Found %d recorded meetings for %s from %s to %s",
        len(seen),
        "the account" if user_id is None else user_id,
        window.start,
        window.end,
    )
    return list(seen.values())


@zoom_task("get_meeting_recordings", name="Zoom: get meeting recordings", tags=("recordings",))
def get_meeting_recordings(credentials: CredentialsLike, meeting_id: int | str) -> RecordingMeeting:
    """The recording files of a meeting instance (UUID) or of a meeting number's latest instance."""
    recordings_of = OPERATIONS["get_meeting_recordings"].bind(meeting_id=meeting_id)
    with client_for(credentials) as zoom:
        data = call_json(zoom, recordings_of)
    recording = RecordingMeeting.model_validate(data)
    get_run_logger().info(
        "Meeting %s has %d recording files", recording.id, len(recording.recording_files)
    )
    return recording


@zoom_task("download_recording_file", name="Zoom: download recording file", tags=("recordings",))
def download_recording_file(
    credentials: CredentialsLike,
    recording_file: RecordingFile | dict[str, Any],
    destination: str | Path | WritableFileSystem = DEFAULT_DESTINATION,
    *,
    subfolder: str | None = None,
    durable: bool = False,
) -> DownloadResult:
    """Download one recording file to ``<destination>/<subfolder>/<file.file_name>``.

    Skipped when already there with the right size; resumed after a cut; verified (type and
    size) and landed atomically. ``destination`` is a folder or a Prefect ``WritableFileSystem``
    block (see :mod:`prefect_zoom.transfer.destinations` for how each is written). ``durable=True`` forces
    the file to disk before returning: set it when a later step deletes the recording in Zoom.
    """
    file = parse_input(RecordingFile, recording_file, prefix="recording_file")
    store = store_for(destination)
    relative = f"{subfolder.strip('/')}/{file.file_name}" if subfolder else file.file_name
    log = get_run_logger()
    with client_for(credentials) as zoom:
        return download_recording(
            zoom, file, store, relative, options=TransferOptions(durable=durable), log=log
        )


def meeting_jobs(
    meeting: RecordingMeeting, file_types: set[str] | None, log: Any
) -> list[DownloadJob]:
    """The files of a meeting to download, each to ``<folder_name>/<file_name>``.

    Keeps only ``file_types`` (upper-case) when given, and leaves out files Zoom has not finished.
    """
    jobs = []
    for file in meeting.recording_files:
        if file_types is not None and file.file_type.upper() not in file_types:
            continue
        if file.status not in (None, "completed"):
            log.warning("Skipping %s file %s: Zoom says %s", file.file_type, file.id, file.status)
            continue
        jobs.append(
            DownloadJob(file, f"{meeting.folder_name}/{file.file_name}", meeting_uuid=meeting.uuid)
        )
    return jobs


@zoom_task(
    "download_recording_file", name="Zoom: download meeting recordings", tags=("recordings",)
)
def download_meeting_recordings(
    credentials: CredentialsLike,
    recording: RecordingMeeting | dict[str, Any],
    destination: str | Path | WritableFileSystem = DEFAULT_DESTINATION,
    *,
    file_types: list[str] | None = None,
    max_concurrency: int = 4,
    durable: bool = False,
) -> list[DownloadResult]:
    """Download a recorded meeting's files to ``<destination>/<folder_name>/<file_name>``.

    ``file_types`` (e.g. ``["MP4", "TRANSCRIPT"]``) keeps only those types; files Zoom has not
    finished processing are left out. Up to ``max_concurrency`` files download at once.
    ``durable=True`` forces the files to disk before returning (before deleting them in Zoom).
    """
    meeting = parse_input(RecordingMeeting, recording, prefix="recording")
    wanted = file_types_filter(file_types)
    store = store_for(destination)
    if max_concurrency < 1:
        raise ZoomInputError(
            "max_concurrency", f"must be at least 1, got {max_concurrency}", "Use 1 or more."
        )
    log = get_run_logger()
    jobs = meeting_jobs(meeting, wanted, log)
    with client_for(credentials) as zoom:
        results = download_many(
            zoom,
            jobs,
            store,
            max_concurrency=max_concurrency,
            options=TransferOptions(durable=durable),
            log=log,
        )
    counts = {s: sum(r.status == s for r in results) for s in ("downloaded", "resumed", "skipped")}
    log.info("Meeting %s: %d files %s", meeting.id, len(results), counts)
    return results


@zoom_task("delete_meeting_recordings", name="Zoom: delete recordings", tags=("recordings",))
def delete_recordings(
    credentials: CredentialsLike,
    meeting_id_or_uuid: int | str,
    recording_id: str | None = None,
    *,
    action: DeleteAction = "trash",
) -> None:
    """Move a meeting's recordings (or one file, by ``recording_id``) to the trash, or with
    ``action="delete"`` delete them for good."""
    if action not in ("trash", "delete"):
        raise ZoomInputError(
            "action", f"must be 'trash' or 'delete', got {action!r}", "Use 'trash' (recoverable)."
        )
    what = _on_recordings(
        credentials,
        meeting_id_or_uuid,
        recording_id,
        ("delete_meeting_recordings", "delete_recording_file"),
        params={"action": action},
    )
    get_run_logger().info("Recordings of meeting %s (%s): %s", meeting_id_or_uuid, what, action)


@zoom_task("recover_meeting_recordings", name="Zoom: recover recordings", tags=("recordings",))
def recover_recordings(
    credentials: CredentialsLike,
    meeting_uuid: int | str,
    recording_id: str | None = None,
) -> None:
    """Bring a meeting's trashed recordings (or one trashed file) back from the trash."""
    what = _on_recordings(
        credentials,
        meeting_uuid,
        recording_id,
        ("recover_meeting_recordings", "recover_recording_file"),
        json={"action": "recover"},
    )
    get_run_logger().info("Recordings of meeting %s (%s) recovered", meeting_uuid, what)


__all__ = [
    "delete_recordings",
    "download_meeting_recordings",
    "download_recording_file",
    "get_meeting_recordings",
    "list_recordings",
    "recover_recordings",
]
