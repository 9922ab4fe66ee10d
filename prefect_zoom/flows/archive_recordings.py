"""``archive_recordings``: copy cloud recordings to a folder or storage block, verified, resumable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from prefect_zoom.exceptions import PartitionsFailedError, ZoomInputError
from prefect_zoom.flows._archive import (
    ArchiveReport,
    KeptFile,
    Outcome,
    archive_files,
    is_finished,
    is_wanted,
    load_destination,
    publish,
    report_for,
)
from prefect_zoom.flows._manifest import ArchivePlan, Manifest
from prefect_zoom.flows._partitions import (
    PARTITION_DEPLOYMENT,
    load_partition_manifest,
    merge_partition_manifests,
    merged_report,
    run_partitions,
    save_partition_report,
    split_users,
)
from prefect_zoom.flows._transcript_text import write_transcript_texts
from prefect_zoom.models.recordings import RecordingFile, RecordingMeeting
from prefect_zoom.tasks.recordings import (
    delete_recordings,
    file_types_filter,
    list_recordings,
    meeting_jobs,
)
from prefect_zoom.transfer import Destination, DownloadJob, make_durable


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
    transcript_text: bool = False,
    partitions: int | None = None,
    partition_deployment: str = PARTITION_DEPLOYMENT,
    partition_retries: int = 2,
    partition: int | None = None,
) -> ArchiveReport:
    """Archive Zoom cloud recordings: list, download every file, verify, optionally trash in Zoom.

    Args:
        credentials_block: Name of a saved Zoom credentials block (OAuth or Server-to-Server).
        from_date: First UTC day to archive (default: yesterday).
        to_date: Last UTC day to archive (default: ``from_date``).
        users: Users (ids or emails) to archive; default ``me``.
        whole_account: Archive every user's recordings (account admin scopes) instead of ``users``.
        destination: Local folder for the archive (ignored when ``destination_block`` is set).
        destination_block: A Prefect file system block, as ``<block-type-slug>/<name>``
            (e.g. ``s3-bucket/zoom-archive`` for prefect-aws's ``S3Bucket``).
        file_types: Only these file types (e.g. ``["MP4", "TRANSCRIPT"]``); default all.
        trash_after_archive: Move to Zoom's trash, file by file, each file verified in the
            destination (and forced to disk); files still processing, failed or left out stay in
            Zoom, and the report says why (recoverable in Zoom for 30 days).
        max_concurrency: Files downloaded at once.
        transcript_text: Write ``<name>.txt`` beside each archived ``<name>.vtt`` transcript: its
            plain text, one ``Speaker: text`` line per cue (written once, atomically, and
            recorded in the manifest).
        partitions: Split the users (``users``, or with ``whole_account`` the hosts of the
            account's recordings) into this many shares of sorted ids and archive each as a flow run
            of ``partition_deployment`` on its work pool, so several workers download at once;
            this run waits for them, runs failed shares again and publishes one report. Default:
            this run archives everything itself.
        partition_deployment: The deployment that runs a share (``flow name/deployment name``):
            ``archive-partition`` of ``deployments/prefect.yaml`` by default.
        partition_retries: How many more times a failed share runs before this run fails,
            naming it (the other shares' files are kept).
        partition: Set by a partitioned run on the runs it starts: the share this run archives
            (with ``whole_account``, ``users`` are the hosts it keeps of the account's listing).

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
    target = load_destination(destination, destination_block)
    if partitions is not None and partition is None:
        share: dict[str, Any] = {
            "credentials_block": credentials_block,
            "from_date": start.isoformat(),
            "to_date": end.isoformat(),
            "destination": destination,
            "destination_block": destination_block,
            "file_types": file_types,
            "trash_after_archive": trash_after_archive,
            "max_concurrency": max_concurrency,
            "transcript_text": transcript_text,
        }
        return await _archive_in_partitions(
            target,
            None if whole_account else (users or ["me"]),
            share,
            partitions,
            partition_deployment,
            partition_retries,
        )

    def load_manifest() -> Manifest:
        if partition is None:
            return Manifest.load(target)
        return load_partition_manifest(target, partition)

    # A share of a whole-account run keeps its hosts' meetings of the account-wide listing.
    hosts = set(users or []) if whole_account and partition is not None else None
    found: dict[str, RecordingMeeting] = {}
    for user in [None] if whole_account else (users or ["me"]):
        for meeting in list_recordings(credentials_block, user, from_date=start, to_date=end):
            if hosts is None or meeting.host_id in hosts:
                found.setdefault(meeting.uuid, meeting)

    manifest = load_manifest()
    plan = manifest.plan([job for m in found.values() for job in meeting_jobs(m, wanted, log)])
    to_download = plan.to_download
    log.info(
        "%d recorded meetings, %d files: %d to download, %d already archived",
        len(found),
        len(plan.jobs),
        len(to_download),
        len(plan.archived),
    )

    outcome: Outcome = {}
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
        manifest = load_manifest()

    report = report_for(plan, outcome, manifest, found, wanted, target, (start, end))
    if transcript_text:
        report.transcript_texts = write_transcript_texts(manifest)
    if trash_after_archive:
        _trash_archived(credentials_block, found, plan, manifest, outcome, wanted, report)
    await publish(report)
    if partition is not None:
        save_partition_report(target, partition, str(flow_run.id), report)
    if failure is not None:
        raise failure
    return report


def _hosts(share: dict[str, Any]) -> list[str]:
    """The hosts of the account's recordings in the share's days (one account-wide listing)."""
    days = date.fromisoformat(share["from_date"]), date.fromisoformat(share["to_date"])
    listed = list_recordings(share["credentials_block"], None, from_date=days[0], to_date=days[1])
    return [meeting.host_id for meeting in listed if meeting.host_id]


async def _archive_in_partitions(
    target: Destination,
    users: list[str] | None,
    share: dict[str, Any],
    partitions: int,
    deployment: str,
    retries: int,
) -> ArchiveReport:
    """Archive ``users`` in ``partitions`` shares, each a run of ``deployment`` with the
    parameters ``share`` plus its users; one report for all (see
    :mod:`prefect_zoom.flows._partitions`). ``users=None`` is the whole account: the hosts of its
    recordings are split, and each share keeps its hosts' meetings of the account's listing."""
    if partitions < 1 or retries < 0:
        raise ZoomInputError(
            "partitions",
            f"{partitions} partitions, {retries} retries",
            "Use at least 1 partition and 0 or more retries.",
        )
    log = get_run_logger()
    whole_account = {"whole_account": True} if users is None else {}
    if users is None:
        users = _hosts(share)
    shares = split_users(users, partitions)
    merge_partition_manifests(target, partitions)  # what a run that died first left behind
    archived_before = set(Manifest.load(target).entries)
    log.info("%d users in %d partitions of %s", len(users), len(shares), deployment)
    parameters = [
        {**share, **whole_account, "users": ids, "partition": k} for k, ids in enumerate(shares)
    ]
    reports, failed = await run_partitions(deployment, parameters, retries, target)
    merge_partition_manifests(target, len(shares))
    empty = ArchiveReport(
        from_date=share["from_date"],
        to_date=share["to_date"],
        destination=str(getattr(target, "basepath", target)),
        meetings=0,
        files=[],
    )
    report = merged_report(reports, empty, archived_before)
    await publish(report)
    if failed:
        named = ", ".join(str(k + 1) for k in failed)
        raise PartitionsFailedError(
            f"Partitions {named} of {len(shares)} still failed after {retries} retries; the "
            "other partitions' files are archived. Run the flow again: it resumes."
        )
    return report


def _trash_archived(
    credentials_block: str,
    meetings: dict[str, RecordingMeeting],
    plan: ArchivePlan,
    manifest: Manifest,
    outcome: Outcome,
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
            if not is_wanted(file, file_types):
                keep(file, "not among file_types")
            elif not is_finished(file):
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
