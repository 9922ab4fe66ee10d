"""What the archive flows share: the report, the destination, the download task, the artifacts.

``archive_recordings`` (a date range) and ``archive_meeting_recordings`` (one meeting, e.g. from
a webhook) write the same layout and manifest (:mod:`prefect_zoom.flows._manifest`) and publish
the same report; this module holds that machinery once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_table_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.blocks.core import Block
from pydantic import BaseModel

from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.flows._manifest import ArchivePlan, Manifest, ManifestEntry
from prefect_zoom.models.recordings import RecordingFile, RecordingMeeting
from prefect_zoom.tasks._common import client_for, zoom_task
from prefect_zoom.transfer import Destination, DownloadJob, DownloadResult, download_many

ARTIFACT_KEY = "zoom-archive"
PROGRESS_EVERY_SECONDS = 5.0
"""The least time between two progress reports (manifest saved, progress artifact, log line)."""
PROGRESS_SHARE = 0.05
"""The most of the download task's time progress reports take: a report that took ``t`` seconds
is followed by the next one ``t / PROGRESS_SHARE`` later at the earliest (a manifest of many
thousand files takes longer to save)."""
LISTED_IN_SUMMARY = 50
"""Kept files and conflicts the summary artifact names one by one (the report holds them all)."""

Outcome = dict[str, DownloadResult | str]
"""Per relative path: the download's result, or the error that stopped it."""


class Throttle:
    """Paces a recurring piece of work: due at most once per ``seconds`` (counted from its
    creation), and, told how long the work took (:meth:`took`), no sooner than ``took / share``
    after it, so the work never takes more than ``share`` of the time."""

    def __init__(
        self,
        seconds: float,
        share: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.share = share
        self._clock = clock
        self._next = clock() + seconds

    def due(self) -> bool:
        now = self._clock()
        if now < self._next:
            return False
        self._next = now + self.seconds
        return True

    def took(self, seconds: float) -> None:
        """The work just done took ``seconds``: the next is due ``seconds / share`` from now at
        the earliest."""
        self._next = max(self._next, self._clock() + seconds / self.share)


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
    transcript_texts: list[str] = []
    """With ``transcript_text``: the ``.txt`` files this run wrote beside archived transcripts."""

    def count(self, *statuses: str) -> int:
        return sum(row.status in statuses for row in self.files)

    @property
    def conflicts(self) -> list[ArchivedFile]:
        """Different copies of verified files, landed beside them."""
        return [row for row in self.files if row.conflict_with]

    @property
    def bytes_downloaded(self) -> int:
        return sum(row.size for row in self.files if row.status in ("downloaded", "resumed"))


def load_destination(destination: str, destination_block: str | None) -> Destination:
    """The folder, or the Prefect file system block ``destination_block`` names when given."""
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
) -> Outcome:
    """Download the files, recording each in the manifest as it lands; a progress artifact moves.

    Returns, per relative path, the download's result or the error that stopped it. A failed file
    fails the task after the others are done (so a retry only fetches what is missing).
    """
    log = get_run_logger()
    progress_id = create_progress_artifact(
        progress=0.0, key=f"{ARTIFACT_KEY}-progress", description="Files archived in this run"
    )
    outcome: Outcome = {}
    pending = Throttle(PROGRESS_EVERY_SECONDS, PROGRESS_SHARE)

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
            started = time.monotonic()
            report_progress()
            pending.took(time.monotonic() - started)

    try:
        if jobs:
            with client_for(credentials_block) as zoom:
                download_many(
                    zoom,
                    jobs,
                    destination,
                    max_concurrency=max_concurrency,
                    log=log,
                    log_each_file=False,  # report_progress says how far it got, every few seconds
                    on_result=landed,
                )
    finally:
        report_progress()
    return outcome


def report_for(
    plan: ArchivePlan,
    outcome: Outcome,
    manifest: Manifest,
    meetings: dict[str, RecordingMeeting],
    file_types: set[str] | None,
    target: Destination,
    days: tuple[date, date],
) -> ArchiveReport:
    """The report of a run over ``meetings`` from ``days[0]`` to ``days[1]``: a row for each file
    already archived, then for each this run downloaded or not."""

    def row(job: DownloadJob, size: int, status: str, error: str | None = None) -> ArchivedFile:
        meeting = meetings[job.meeting_uuid or ""]
        return ArchivedFile(
            meeting_id=meeting.id,
            topic=meeting.topic,
            path=job.relative_path,
            size=size,
            status=status,
            error=error,
            conflict_with=plan.conflicts.get(job.relative_path),
        )

    rows = [
        row(job, manifest.entries[job.relative_path].size, "already archived")
        for job in plan.archived
    ]
    for job in plan.to_download:
        result = outcome.get(job.relative_path, "not attempted")
        if isinstance(result, DownloadResult):
            rows.append(row(job, result.size, result.status))
        else:
            rows.append(row(job, 0, "failed", result))
    return ArchiveReport(
        from_date=days[0],
        to_date=days[1],
        destination=str(getattr(target, "basepath", target)),
        meetings=len(meetings),
        files=rows,
        processing_files=processing_files(meetings.values(), file_types),
    )


def _listed(lines: list[str], items: list[str]) -> list[str]:
    """``items`` as a markdown list, at most ``LISTED_IN_SUMMARY`` of them."""
    shown = [f"  * {item}" for item in items[:LISTED_IN_SUMMARY]]
    if len(items) > LISTED_IN_SUMMARY:
        shown.append(f"  * … and {len(items) - LISTED_IN_SUMMARY} more (see the flow's result)")
    return lines + shown


async def publish(report: ArchiveReport) -> None:
    """The table and summary artifacts of an archive run."""
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


def processing_files(meetings: Iterable[RecordingMeeting], file_types: set[str] | None) -> int:
    """How many of the wanted files Zoom has not finished processing (so none is archived)."""
    return sum(
        not is_finished(file) and is_wanted(file, file_types)
        for meeting in meetings
        for file in meeting.recording_files
    )


def is_finished(file: RecordingFile) -> bool:
    """Zoom has finished processing the file (it can be downloaded)."""
    return file.status in (None, "completed")


def is_wanted(file: RecordingFile, file_types: set[str] | None) -> bool:
    """The file is among ``file_types`` (all are when it is ``None``)."""
    return file_types is None or file.file_type.upper() in file_types
