"""``archive_meeting_recordings``: archive ONE recorded meeting, e.g. as soon as Zoom has it.

The flow behind the ``archive-on-recording-completed`` deployment (``deployments/prefect.yaml``):
Zoom sends ``recording.completed``, ``prefect-zoom webhook serve`` emits it as the Prefect event
``zoom.recording.completed``, and the deployment's trigger starts this flow with the event's
``payload.object`` (the meeting and its files) and ``payload.download_token``.

The event names the meeting; it does not say what to download. Whoever can post to the receiver
(or edit a run's parameters) controls the event's file list, so the flow reads the meeting's files
from Zoom by UUID with the connection and downloads exactly those; the event's download token
goes only to the ``download_url``s Zoom listed (and the client refuses any URL that is not Zoom's,
see :mod:`prefect_zoom.client.origins`).

It writes to the same destination layout and manifest as the nightly
:func:`~prefect_zoom.flows.archive_recordings.archive_recordings`
(``<destination>/<date>_<meeting id>_<uuid digest>/<file>``), so the two never download a file
twice, in either order.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger

from prefect_zoom.auth.manager import StaticToken
from prefect_zoom.auth.tokens import as_utc
from prefect_zoom.client import ZoomClient
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.flows._archive import (
    ArchiveReport,
    Outcome,
    archive_files,
    load_destination,
    publish,
    report_for,
)
from prefect_zoom.flows._manifest import Manifest, ManifestEntry
from prefect_zoom.models.recordings import RecordingMeeting
from prefect_zoom.tasks._common import load_credentials, zoom_task
from prefect_zoom.tasks.recordings import file_types_filter, get_meeting_recordings, meeting_jobs
from prefect_zoom.transfer import Destination, DownloadJob, DownloadResult, download_many


@zoom_task(
    "download_recording_file",
    name="Zoom: archive recording files with the download token",
    tags=("recordings",),
    retries=0,
)
def archive_files_with_download_token(
    download_token: StaticToken,
    api_base_url: str,
    jobs: list[DownloadJob],
    destination: Destination,
    manifest: Manifest,
    meeting: RecordingMeeting,
    max_concurrency: int = 4,
) -> Outcome:
    """Download the files with a webhook's ``download_token``, recording each in the manifest.

    Never fails: returns, per relative path, the download's result or the error that stopped it,
    so that the flow can fetch whatever the token did not with the connection instead. The token
    only travels inside a :class:`StaticToken`, whose repr hides it.
    """
    log = get_run_logger()
    outcome: Outcome = {}

    def landed(
        job: DownloadJob, result: DownloadResult | None, error: BaseException | None
    ) -> None:
        if result is not None:
            manifest.add(ManifestEntry.for_download(job, meeting, result))
            manifest.save()
            outcome[job.relative_path] = result
        else:
            outcome[job.relative_path] = f"{type(error).__name__}: {error}"
        log.info(
            "[%d/%d] %s %s (download token)",
            len(outcome),
            len(jobs),
            result.status if result else "FAILED",
            job.relative_path,
        )

    with ZoomClient(api_base_url, download_token) as zoom:
        try:
            download_many(
                zoom, jobs, destination, max_concurrency=max_concurrency, log=log, on_result=landed
            )
        except Exception as error:  # every job was attempted; `landed` has each error
            log.warning("The download token did not fetch every file (%s)", type(error).__name__)
    return outcome


def _meeting(
    credentials_block: str, recording: dict[str, Any] | None, meeting_uuid: str | None
) -> RecordingMeeting:
    """The recorded meeting as Zoom lists it now, found by the UUID of the event or the caller.

    The event's ``recording`` is used for its ``uuid`` only: its ``recording_files`` (and their
    ``download_url``) come from whoever posted the event, so the files are always those Zoom
    lists (``GET /meetings/{uuid}/recordings``) with the connection.
    """
    event_uuid = recording.get("uuid") if isinstance(recording, dict) else None
    if recording and (not isinstance(event_uuid, str) or not event_uuid.strip()):
        raise ZoomInputError(
            "recording",
            "has no meeting UUID (recording.uuid)",
            "Pass the event's payload.object as `recording`, or the meeting instance's UUID.",
        )
    if event_uuid and meeting_uuid and meeting_uuid != event_uuid:
        raise ZoomInputError(
            "meeting_uuid",
            f"{meeting_uuid!r} is not the UUID of the recording given ({event_uuid!r})",
            "Pass one of them, or both for the same meeting.",
        )
    uuid = event_uuid or meeting_uuid
    if not uuid:
        raise ZoomInputError(
            "recording",
            "neither a recording nor a meeting_uuid was given",
            "Pass the event's payload.object as `recording`, or the meeting instance's UUID.",
        )
    return get_meeting_recordings(credentials_block, uuid)


def _day(meeting: RecordingMeeting) -> date:
    start = meeting.start_time
    if start is None:
        return datetime.now(UTC).date()
    return as_utc(start).date()


@flow(name="Zoom: archive meeting recordings", log_prints=False)
async def archive_meeting_recordings(
    credentials_block: str,
    recording: dict[str, Any] | None = None,
    meeting_uuid: str | None = None,
    download_token: str | None = None,
    destination: str = "zoom-archive",
    destination_block: str | None = None,
    file_types: list[str] | None = None,
    max_concurrency: int = 4,
) -> ArchiveReport:
    """Archive one recorded meeting's files: download, verify, record in the archive's manifest.

    Args:
        credentials_block: Name of a saved Zoom credentials block (OAuth or Server-to-Server).
            Used to list the meeting's files (always), and to download whatever the
            ``download_token`` does not (absent, expired or refused).
        recording: The meeting as Zoom sends it in ``recording.completed`` (the Prefect event's
            ``payload.object``). Only its ``uuid`` is used: its ``recording_files`` are not
            trusted, the files are those Zoom lists for that UUID.
        meeting_uuid: The meeting instance's UUID, instead of (or as well as) ``recording``.
        download_token: The event's ``payload.download_token``: downloads the files Zoom listed
            without spending the connection's token on them. See the note below.
        destination: Local folder for the archive (ignored when ``destination_block`` is set).
        destination_block: A Prefect file system block, as ``<block-type-slug>/<name>``.
        file_types: Only these file types (e.g. ``["MP4", "TRANSCRIPT"]``); default all.
        max_concurrency: Files downloaded at once.

    The layout and the manifest are those of ``archive_recordings``: files already in the
    manifest are not downloaded again, so a rerun, a duplicate event or the next nightly archive
    downloads nothing twice.

    About ``download_token``: Prefect deployment triggers can pass event data to a flow only as
    parameters, so a triggered run stores the token in its parameters, in clear, where anyone who
    can read flow runs sees it. The token is already in the event itself; it is short-lived
    (24 hours) and only reads this meeting's recordings. The flow never logs it (it travels
    inside a ``StaticToken``, whose repr hides it). To keep it out of Prefect altogether, strip it
    in the receiver (``ReceiverSettings(strip_keys=SECRET_KEYS | {"download_token"})``) and leave
    the ``download_token`` parameter out of the trigger: the connection then downloads the files.

    An ``async`` flow, like ``archive_recordings`` (``asyncio.run(...)`` it from a script).
    """
    log = get_run_logger()
    wanted = file_types_filter(file_types)
    target = load_destination(destination, destination_block)
    meeting = _meeting(credentials_block, recording, meeting_uuid)
    meetings = {meeting.uuid: meeting}

    manifest = Manifest.load(target)
    plan = manifest.plan(meeting_jobs(meeting, wanted, log))
    to_download = plan.to_download
    log.info(
        "Meeting %s (%s): %d files, %d to download, %d already archived",
        meeting.id,
        meeting.topic or "no topic",
        len(plan.jobs),
        len(to_download),
        len(plan.archived),
    )

    outcome: Outcome = {}
    remaining = to_download
    if download_token and to_download:
        api_base_url = load_credentials(credentials_block).api_base_url
        outcome = archive_files_with_download_token(
            StaticToken(download_token),
            api_base_url,
            to_download,
            target,
            manifest,
            meeting,
            max_concurrency=max_concurrency,
        )
        remaining = [
            job
            for job in to_download
            if not isinstance(outcome.get(job.relative_path), DownloadResult)
        ]
        if remaining:
            log.warning(
                "%d files were not downloaded with the event's download token; "
                "downloading them with the connection",
                len(remaining),
            )

    failure: BaseException | None = None
    if remaining:
        state = archive_files(
            credentials_block,
            remaining,
            target,
            manifest,
            meetings,
            max_concurrency=max_concurrency,
            return_state=True,
        )
        try:
            outcome.update(await state.aresult())
        except Exception as error:
            failure = error
            manifest = Manifest.load(target)

    day = _day(meeting)
    report = report_for(plan, outcome, manifest, meetings, wanted, target, (day, day))
    await publish(report)
    if failure is not None:
        raise failure
    return report


__all__ = ["archive_files_with_download_token", "archive_meeting_recordings"]
