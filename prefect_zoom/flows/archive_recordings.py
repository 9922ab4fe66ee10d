"""``archive_recordings``: copy cloud recordings to a folder or storage block, verified, resumable."""

from __future__ import annotations

import time
from collections.abc import Iterable
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
from prefect_zoom.flows._manifest import ArchivePlan, Manifest, ManifestEntry
from prefect_zoom.models.recordings import RecordingFile, RecordingMeeting
from prefect_zoom.tasks._common import client_for, zoom_task
from prefect_zoom.tasks.recordings import (
    delete_recordings,
    file_types_filter,
    list_recordings,
    meeting_jobs,
)

ARTIFACT_KEY = "zoom-archive"
PROGRESS_EVERY_SECONDS = 1.0
LISTED_IN_SUMMARY = 50
"""Kept files and conflicts the summary artifact names one by one (the report holds them all)."""


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
    conflict_with: str | None = None
    """Set on a different copy (another size) of a file already archived verified: the path of
    that file, which is kept as it is; this copy landed beside it."""


class KeptFile(BaseModel):
    """A file ``trash_after_archive`` left in Zoom, and why."""

    meeting_id: int
    topic: str | None
    file_type: str
    file_id: str | None
    reason: str


class ArchiveReport(BaseModel):
    """What an archive run did."""

    from_date: date
    to_date: date
    destination: str
    meetings: int
    files: list[ArchivedFile]
    trashed_files: int = 0
    """Files moved to Zoom's trash (one by one, each verified in the destination first)."""
    trashed_meetings: int = 0
    """Meetings of which every file went to Zoom's trash."""
    kept_in_zoom: list[KeptFile] = []
    """With ``trash_after_archive``: the files left in Zoom, each with the reason."""
    processing_files: int = 0
    """Files Zoom is still processing: not archived yet (a later run archives them)."""

    def count(self, *statuses: str) -> int:
        return sum(row.status in statuses for row in self.files)

    @property
    def conflicts(self) -> list[ArchivedFile]:
        """Different copies of verified files, landed beside them."""
        return [row for row in self.files if row.conflict_with]

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
    plan: ArchivePlan,
    outcome: dict[str, DownloadResult | str],
    manifest: Manifest,
    meetings: dict[str, RecordingMeeting],
) -> list[ArchivedFile]:
    rows = []
    for job in plan.archived:
        meeting = meetings[job.meeting_uuid or ""]
        entry = manifest.entries[job.relative_path]
        rows.append(
            ArchivedFile(
                meeting_id=meeting.id,
                topic=meeting.topic,
                path=job.relative_path,
                size=entry.size,
                status="already archived",
                conflict_with=plan.conflicts.get(job.relative_path),
            )
        )
    for job in plan.to_download:
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
                conflict_with=plan.conflicts.get(job.relative_path),
            )
        )
    return rows


def _listed(lines: list[str], items: list[str]) -> list[str]:
    """``items`` as a markdown list, at most ``LISTED_IN_SUMMARY`` of them."""
    shown = [f"  * {item}" for item in items[:LISTED_IN_SUMMARY]]
    if len(items) > LISTED_IN_SUMMARY:
        shown.append(f"  * … and {len(items) - LISTED_IN_SUMMARY} more (see the flow's result)")
    return lines + shown


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
                "conflict with": row.conflict_with or "",
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
        f"* files Zoom is still processing (not archived yet): {report.processing_files}",
        f"* files moved to Zoom's trash: {report.trashed_files} "
        f"(meetings emptied: {report.trashed_meetings})",
    ]
    if report.kept_in_zoom:
        lines.append(f"* files kept in Zoom: {len(report.kept_in_zoom)}")
        lines = _listed(
            lines,
            [
                f"meeting {kept.meeting_id}, {kept.file_type} {kept.file_id or ''}: {kept.reason}"
                for kept in report.kept_in_zoom
            ],
        )
    if report.conflicts:
        lines.append(
            f"* conflicts: {len(report.conflicts)} (Zoom listed another size for a file already "
            "archived; the archived file is kept, the new copy landed beside it)"
        )
        lines = _listed(
            lines, [f"`{row.path}` beside `{row.conflict_with}`" for row in report.conflicts]
        )
    if failed:
        lines += ["", "Run the flow again: it resumes and downloads only what is missing."]
    await acreate_markdown_artifact(
        key=f"{ARTIFACT_KEY}-summary", markdown="\n".join(lines), description="Archive summary"
    )


@flow(name="Zoom: archive recordings", log_prints=False)
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
        trash_after_archive: Move to Zoom's trash, file by file, each file verified in the
            destination (and forced to disk); files still processing, failed or left out stay in
            Zoom, and the report says why (recoverable in Zoom for 30 days).
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
    plan = manifest.plan([job for m in found.values() for job in meeting_jobs(m, wanted, log)])
    to_download = plan.to_download
    log.info(
        "%d recorded meetings, %d files: %d to download, %d already archived",
        len(found),
        len(plan.jobs),
        len(to_download),
        len(plan.archived),
    )

    outcome: dict[str, DownloadResult | str] = {}
    failure: BaseException | None = None
    # quote(): hand the big collections over as they are; Prefect would otherwise walk every
    # file and meeting in them looking for futures, which grows with the number of files.
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

    report = ArchiveReport(
        from_date=start,
        to_date=end,
        destination=str(getattr(target, "basepath", target)),
        meetings=len(found),
        files=_report_rows(plan, outcome, manifest, found),
        processing_files=processing_files(found.values(), wanted),
    )
    if trash_after_archive:
        _trash_archived(credentials_block, found, plan, manifest, outcome, wanted, report)
    await _publish(report)
    if failure is not None:
        raise failure
    return report


def processing_files(meetings: Iterable[RecordingMeeting], file_types: set[str] | None) -> int:
    """How many of the wanted files Zoom has not finished processing (so none is archived)."""
    return sum(
        not _finished(file) and _wanted(file, file_types)
        for meeting in meetings
        for file in meeting.recording_files
    )


def _finished(file: RecordingFile) -> bool:
    return file.status in (None, "completed")


def _wanted(file: RecordingFile, file_types: set[str] | None) -> bool:
    return file_types is None or file.file_type.upper() in file_types


def _trash_archived(
    credentials_block: str,
    meetings: dict[str, RecordingMeeting],
    plan: ArchivePlan,
    manifest: Manifest,
    outcome: dict[str, DownloadResult | str],
    file_types: set[str] | None,
    report: ArchiveReport,
) -> None:
    """Move to Zoom's trash, one by one, the files verified in the destination; the others stay.

    Each file goes with ``DELETE /meetings/{uuid}/recordings/{file id}`` (never the whole
    meeting, which would take files this run did not archive, or that Zoom added since), once
    the destination holds it with its size and, on a local disk, it is forced to disk. The
    report gets the counts and, for every file left in Zoom, the reason.
    """
    log = get_run_logger()
    planned: dict[tuple[str | None, str | None], DownloadJob] = {
        (job.meeting_uuid, job.file.id): job for job in plan.jobs
    }
    for uuid, meeting in meetings.items():
        ready: list[tuple[str, DownloadJob]] = []

        def keep(file: RecordingFile, reason: str, meeting: RecordingMeeting = meeting) -> None:
            report.kept_in_zoom.append(
                KeptFile(
                    meeting_id=meeting.id,
                    topic=meeting.topic,
                    file_type=file.file_type,
                    file_id=file.id,
                    reason=reason,
                )
            )

        for file in meeting.recording_files:
            job = planned.get((uuid, file.id))
            if not _wanted(file, file_types):
                keep(file, "not among file_types")
            elif not _finished(file):
                keep(
                    file,
                    f"Zoom is still processing it (status {file.status!r}): not archived yet; "
                    "a later run over this meeting's date archives it",
                )
            elif not file.id:
                keep(file, "Zoom gives it no file id, so it cannot be trashed on its own")
            elif job is None or not manifest.has(job.relative_path, file.file_size):
                error = outcome.get(job.relative_path) if job else None
                failed = (
                    f" ({error.split(':', 1)[0]}; see its row)" if isinstance(error, str) else ""
                )
                keep(file, f"not archived{failed}")
            else:
                ready.append((file.id, job))
        if not ready:
            continue
        # Zoom's copy goes to the trash: ours must survive a power cut first.
        make_durable(local for _, job in ready if (local := manifest.local_path(job.relative_path)))
        trashed = 0
        for file_id, job in ready:
            try:
                delete_recordings(credentials_block, uuid, file_id, action="trash")
            except Exception as error:  # the file stays in Zoom; the next run tries again
                log.warning("Zoom did not trash %s: %s", job.relative_path, type(error).__name__)
                keep(job.file, f"Zoom did not trash it: {type(error).__name__}: {error}")
                continue
            manifest.entries[job.relative_path].trashed_in_zoom = True
            trashed += 1
        manifest.save()
        report.trashed_files += trashed
        report.trashed_meetings += trashed == len(meeting.recording_files)
    if report.kept_in_zoom:
        log.warning(
            "%d files stay in Zoom (see the summary artifact for why), %d moved to the trash",
            len(report.kept_in_zoom),
            report.trashed_files,
        )
