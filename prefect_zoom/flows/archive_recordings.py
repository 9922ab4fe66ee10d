"""``archive_recordings``: copy cloud recordings to a folder or storage block, verified, resumable."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_table_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.blocks.core import Block
from prefect.utilities.annotations import quote
from pydantic import BaseModel

from prefect_zoom.downloads import (
    Destination,
    DownloadJob,
    DownloadResult,
    download_many,
    make_durable,
)
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.flows._manifest import Manifest, ManifestEntry
from prefect_zoom.models.recordings import RecordingMeeting
from prefect_zoom.tasks._common import client_for, zoom_task
from prefect_zoom.tasks.recordings import (
    delete_recordings,
    file_types_filter,
    list_recordings,
    meeting_jobs,
)

ARTIFACT_KEY = "zoom-archive"
PROGRESS_EVERY_SECONDS = 1.0


class Throttle:
    """True at most once per ``seconds``, counted from its creation."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.seconds:
            return False
        self._last = now
        return True


class ArchivedFile(BaseModel):
    """One row of the archive's report."""

    meeting_id: int
    topic: str | None
    path: str
    size: int
    status: str  # downloaded | resumed | already archived | failed
    error: str | None = None


class ArchiveReport(BaseModel):
    """What an archive run did."""

    from_date: date
    to_date: date
    destination: str
    meetings: int
    files: list[ArchivedFile]
    trashed_meetings: int = 0

    def count(self, *statuses: str) -> int:
        return sum(row.status in statuses for row in self.files)

    @property
    def bytes_downloaded(self) -> int:
        return sum(row.size for row in self.files if row.status in ("downloaded", "resumed"))


def _destination(destination: str, destination_block: str | None) -> Destination:
    if not destination_block:
        return destination
    if "/" not in destination_block:
        raise ZoomInputError(
            "destination_block",
            f"{destination_block!r} is not a block slug",
            "Use '<block-type-slug>/<block-name>', e.g. 'remote-file-system/recordings'.",
        )
    loaded: Destination = Block.load(destination_block, _sync=True)  # type: ignore[assignment,call-arg]
    return loaded


@zoom_task("download_recording_file", name="Zoom: archive recording files", tags=("recordings",))
def archive_files(
    credentials_block: str,
    jobs: list[DownloadJob],
    destination: Destination,
    manifest: Manifest,
    meetings: dict[str, RecordingMeeting],
    max_concurrency: int = 4,
) -> dict[str, DownloadResult | str]:
    """Download the files, recording each in the manifest as it lands; a progress artifact moves.

    Returns, per relative path, the download's result or the error that stopped it. A failed file
    fails the task after the others are done (so a retry only fetches what is missing).
    """
    log = get_run_logger()
    progress_id = create_progress_artifact(
        progress=0.0, key=f"{ARTIFACT_KEY}-progress", description="Files archived in this run"
    )
    outcome: dict[str, DownloadResult | str] = {}
    pending = Throttle(PROGRESS_EVERY_SECONDS)

    def report_progress() -> None:
        manifest.save()
        done = len(outcome)
        failed = sum(isinstance(value, str) for value in outcome.values())
        log.info("Archived %d of %d files (%d failed)", done - failed, len(jobs), failed)
        if isinstance(progress_id, UUID):
            update_progress_artifact(progress_id, progress=100.0 * done / max(len(jobs), 1))

    def landed(
        job: DownloadJob, result: DownloadResult | None, error: BaseException | None
    ) -> None:
        meeting = meetings[job.meeting_uuid or ""]
        if result is not None:
            manifest.add(ManifestEntry.for_download(job, meeting, result))
            outcome[job.relative_path] = result
        else:
            outcome[job.relative_path] = f"{type(error).__name__}: {error}"
        # The manifest and the progress bar move in batches: a rerun re-checks files that landed
        # after the last save by their size on disk, without downloading them again.
        if pending.due():
            report_progress()

    try:
        if jobs:
            with client_for(credentials_block) as zoom:
                download_many(
                    zoom,
                    jobs,
                    destination,
                    max_concurrency=max_concurrency,
                    log=log,
                    log_each_file=False,  # report_progress says how far it got, once a second
                    on_result=landed,
                )
    finally:
        report_progress()
    return outcome


def _report_rows(
    jobs: list[DownloadJob],
    archived_before: list[DownloadJob],
    outcome: dict[str, DownloadResult | str],
    manifest: Manifest,
    meetings: dict[str, RecordingMeeting],
) -> list[ArchivedFile]:
    rows = []
    for job in archived_before:
        meeting = meetings[job.meeting_uuid or ""]
        entry = manifest.entries[job.relative_path]
        rows.append(
            ArchivedFile(
                meeting_id=meeting.id,
                topic=meeting.topic,
                path=job.relative_path,
                size=entry.size,
                status="already archived",
            )
        )
    for job in jobs:
        meeting = meetings[job.meeting_uuid or ""]
        result = outcome.get(job.relative_path, "not attempted")
        rows.append(
            ArchivedFile(
                meeting_id=meeting.id,
                topic=meeting.topic,
                path=job.relative_path,
                size=result.size if isinstance(result, DownloadResult) else 0,
                status=result.status if isinstance(result, DownloadResult) else "failed",
                error=None if isinstance(result, DownloadResult) else result,
            )
        )
    return rows


async def _publish(report: ArchiveReport) -> None:
    await acreate_table_artifact(
        key=f"{ARTIFACT_KEY}-files",
        table=[
            {
                "meeting": row.meeting_id,
                "topic": row.topic or "",
                "file": row.path,
                "size": row.size,
                "status": row.status,
            }
            for row in report.files
        ],
        description="Recording files in this archive run",
    )
    failed = report.count("failed")
    lines = [
        f"# Zoom recordings archive, {report.from_date} to {report.to_date}",
        "",
        f"* destination: `{report.destination}`",
        f"* recorded meetings: {report.meetings}",
        f"* files downloaded: {report.count('downloaded', 'resumed')} "
        f"({report.bytes_downloaded:,} bytes), of which resumed: {report.count('resumed')}",
        f"* files already archived: {report.count('already archived')}",
        f"* files failed: {failed}",
        f"* meetings moved to Zoom's trash: {report.trashed_meetings}",
    ]
    if failed:
        lines += ["", "Run the flow again: it resumes and downloads only what is missing."]
    await acreate_markdown_artifact(
        key=f"{ARTIFACT_KEY}-summary", markdown="\n".join(lines), description="Archive summary"
    )


@flow(name="zoom-archive-recordings", log_prints=False)
async def archive_recordings(
    credentials_block: str,
    from_date: date | None = None,
    to_date: date | None = None,
    users: list[str] | None = None,
    whole_account: bool = False,
    destination: str = "zoom-archive",
    destination_block: str | None = None,
    file_types: list[str] | None = None,
    trash_after_archive: bool = False,
    max_concurrency: int = 4,
) -> ArchiveReport:
    """Archive Zoom cloud recordings: list, download every file, verify, optionally trash in Zoom.

    Args:
        credentials_block: Name of a saved Zoom credentials block (OAuth or Server-to-Server).
        from_date: First UTC day to archive (default: yesterday).
        to_date: Last UTC day to archive (default: ``from_date``).
        users: Users (ids or emails) to archive; default ``me``.
        whole_account: Archive every user's recordings (account admin scopes) instead of ``users``.
        destination: Local folder for the archive (ignored when ``destination_block`` is set).
        destination_block: A Prefect file system block, as ``<block-type-slug>/<name>``.
        file_types: Only these file types (e.g. ``["MP4", "TRANSCRIPT"]``); default all.
        trash_after_archive: Move a meeting's recordings to Zoom's trash once all its files are
            archived and verified (recoverable in Zoom for 30 days).
        max_concurrency: Files downloaded at once.

    A manifest in the destination records every verified file, so a rerun downloads nothing that is
    already archived and resumes files that were cut.

    An ``async`` flow (``asyncio.run(archive_recordings(...))`` from a script): Prefect 3.9 ends a
    synchronous flow run only when its heartbeat thread wakes, once a second; an async run ends
    with its work. The tasks inside are synchronous and download in threads.
    """
    log = get_run_logger()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    start = from_date or yesterday
    end = to_date or (start if from_date else yesterday)
    wanted = file_types_filter(file_types)
    target = _destination(destination, destination_block)

    found: dict[str, RecordingMeeting] = {}
    for user in [None] if whole_account else (users or ["me"]):
        for meeting in list_recordings(credentials_block, user, from_date=start, to_date=end):
            found.setdefault(meeting.uuid, meeting)

    manifest = Manifest.load(target)
    jobs_by_meeting = {uuid: meeting_jobs(m, wanted, log) for uuid, m in found.items()}
    to_download: list[DownloadJob] = []
    archived_before: list[DownloadJob] = []
    for jobs in jobs_by_meeting.values():
        for job in jobs:
            if manifest.has(job.relative_path, job.file.file_size):
                archived_before.append(job)
            else:
                to_download.append(job)
    log.info(
        "%d recorded meetings, %d files: %d to download, %d already archived",
        len(found),
        len(to_download) + len(archived_before),
        len(to_download),
        len(archived_before),
    )

    outcome: dict[str, DownloadResult | str] = {}
    failure: BaseException | None = None
    # quote(): hand the big collections over as they are; Prefect would otherwise walk every
    # file and meeting in them looking for futures (0.1-0.2 s for 500 files).
    state = archive_files(
        credentials_block,
        quote(to_download),
        target,
        quote(manifest),
        quote(found),
        max_concurrency=max_concurrency,
        return_state=True,
    )
    try:
        outcome = await state.aresult()
    except Exception as error:
        failure = error
        manifest = Manifest.load(target)

    trashed = 0
    if trash_after_archive:
        trashed = _trash_archived(credentials_block, jobs_by_meeting, manifest, wanted)

    report = ArchiveReport(
        from_date=start,
        to_date=end,
        destination=str(getattr(target, "basepath", target)),
        meetings=len(found),
        files=_report_rows(to_download, archived_before, outcome, manifest, found),
        trashed_meetings=trashed,
    )
    await _publish(report)
    if failure is not None:
        raise failure
    return report


def _trash_archived(
    credentials_block: str,
    jobs_by_meeting: dict[str, list[DownloadJob]],
    manifest: Manifest,
    file_types: set[str] | None,
) -> int:
    """Trash, in Zoom, the meetings (or, with a file-type filter, the files) archived verified."""
    trashed = 0
    for uuid, jobs in jobs_by_meeting.items():
        archived = [job for job in jobs if manifest.has(job.relative_path, job.file.file_size)]
        if not jobs or len(archived) != len(jobs):
            continue
        # Zoom's copy goes to the trash: ours must survive a power cut first.
        make_durable(local for job in archived if (local := manifest.local_path(job.relative_path)))
        if file_types is None:
            delete_recordings(credentials_block, uuid, action="trash")
        else:
            for job in archived:
                if job.file.id:
                    delete_recordings(credentials_block, uuid, job.file.id, action="trash")
        for job in archived:
            manifest.entries[job.relative_path].trashed_in_zoom = True
        manifest.save()
        trashed += 1
    return trashed
