"""Prefect task for a meeting's audio transcript: download the WebVTT file, return its segments.

The file is downloaded like any recording file (:mod:`prefect_zoom.transfer`: skipped when
already there, resumed after a cut, verified, landed atomically) to
``<destination>/<folder_name>/<file_name>``, the archive's layout, then parsed with webvtt-py.
"""

from __future__ import annotations

from pathlib import Path

from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.client.calls import call_json
from prefect_zoom.exceptions import ZoomInputError, ZoomNotFoundError
from prefect_zoom.models.recordings import RecordingFile, RecordingMeeting
from prefect_zoom.models.transcripts import Transcript
from prefect_zoom.tasks._common import CredentialsLike, client_for, run_logger, zoom_task
from prefect_zoom.tasks.recordings import DEFAULT_DESTINATION
from prefect_zoom.transfer import download_recording
from prefect_zoom.transfer.destinations import store_for


def transcript_file(meeting: RecordingMeeting) -> RecordingFile:
    """The meeting's completed TRANSCRIPT file, else :class:`ZoomNotFoundError`."""
    for file in meeting.recording_files:
        if file.file_type.upper() == "TRANSCRIPT" and file.status in (None, "completed"):
            return file
    raise ZoomNotFoundError(
        f"Meeting {meeting.id} has no completed audio transcript",
        hint="Zoom writes one only when the host's 'Audio transcript' cloud recording setting is "
        "on, some minutes after the recording; wait for recording.transcript_completed.",
    )


@zoom_task(
    "get_meeting_recordings", name="Zoom: get transcript", tags=("recordings", "transcripts")
)
def get_transcript(
    credentials: CredentialsLike,
    meeting_id: int | str,
    destination: str | Path = DEFAULT_DESTINATION,
) -> Transcript:
    """Download a meeting's audio transcript (its TRANSCRIPT recording file, WebVTT) to the
    folder ``destination`` and return its segments (start, end, speaker, text) and plain text.

    ``meeting_id`` is a meeting instance UUID, or a meeting number for its latest instance. Needs
    `recording:read` (classic) or `cloud_recording:read:list_recording_files` (granular). Safe to
    run again: reads only, and a transcript already downloaded in full is not fetched again.
    """
    if not isinstance(destination, (str, Path)) or not str(destination).strip():
        raise ZoomInputError(
            "destination", f"expected a folder, got {destination!r}", "Pass a local folder path."
        )
    recordings_of = OPERATIONS["get_meeting_recordings"].bind(meeting_id=meeting_id)
    log = run_logger()
    with client_for(credentials) as zoom:
        meeting = RecordingMeeting.model_validate(call_json(zoom, recordings_of))
        file = transcript_file(meeting)
        result = download_recording(
            zoom,
            file,
            store_for(destination),
            f"{meeting.folder_name}/{file.file_name}",
            meeting_uuid=meeting.uuid,
            log=log,
        )
    document = Path(result.path).read_text(encoding="utf-8-sig")
    transcript = Transcript.from_vtt(document, path=result.path)
    log.info(
        "Transcript of meeting %s: %d segments (%s)",
        meeting.id,
        len(transcript.segments),
        result.status,
    )
    return transcript


__all__ = ["get_transcript"]
