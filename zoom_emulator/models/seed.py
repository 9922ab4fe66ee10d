"""The data a new emulator starts with: the owner, more users, and cloud recordings of yesterday
(each of a meeting that was held: its instance and who attended, see :func:`held_attendees`)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection
from datetime import UTC, datetime, time, timedelta

from zoom_emulator.models import content, past_meetings
from zoom_emulator.models.past_meetings import Attendee
from zoom_emulator.models.state import (
    EmulatorState,
    RecordingFile,
    RecordingMeeting,
    User,
    utcnow,
)

# file_type -> (extension, recording_type, content type, share of the MP4 size)
FILE_KINDS: dict[str, tuple[str, str, str, float]] = {
    "MP4": ("MP4", "shared_screen_with_speaker_view", "video/mp4", 1.0),
    "M4A": ("M4A", "audio_only", "audio/mp4", 0.125),
    "TRANSCRIPT": ("VTT", "audio_transcript", "text/vtt", 0.01),
    "CHAT": ("TXT", "chat_file", "text/plain", 0.001),
}


def meeting_uuid(seed: str) -> str:
    """A Zoom-like meeting UUID (base64 of 16 bytes: may hold ``+``, ``/`` and ``=``)."""
    return base64.b64encode(hashlib.md5(seed.encode()).digest()).decode()


def add_recording(
    state: EmulatorState,
    host_id: str,
    *,
    topic: str,
    start_time: datetime,
    mp4_bytes: int,
    file_types: tuple[str, ...] = ("MP4", "M4A", "TRANSCRIPT", "CHAT"),
    duration: int = 30,
    uuid: str | None = None,
    processing: Collection[str] = (),
) -> RecordingMeeting:
    """Add one recorded meeting with its files; sizes scale from the MP4's.

    Files whose type is in ``processing`` are still being processed (``status: "processing"``):
    listed, but not downloadable until :func:`complete_processing`.
    """
    host = state.users[host_id]
    speakers = [f"{host.first_name} {host.last_name}", "Ada Lovelace", "Alan Turing"]
    meeting_id = state.next_meeting_id()
    uuid = uuid or meeting_uuid(f"{host_id}/{meeting_id}")
    files = []
    for number, file_type in enumerate(file_types):
        extension, recording_type, content_type, share = FILE_KINDS[file_type]
        file_id = hashlib.sha1(f"{uuid}/{number}/{file_type}".encode()).hexdigest()[:36]
        size = max(1, int(mp4_bytes * share))
        if file_type == "TRANSCRIPT":
            size = len(content.make_transcript(file_id, speakers, duration))
        files.append(
            RecordingFile(
                id=file_id,
                file_type=file_type,
                file_extension=extension,
                file_size=size,
                recording_type=recording_type,
                content_type=content_type,
                status="processing" if file_type in processing else "completed",
            )
        )
    recording = RecordingMeeting(
        uuid=uuid,
        meeting_id=meeting_id,
        account_id=host.account_id,
        host_id=host.id,
        topic=topic,
        start_time=start_time,
        duration=duration,
        files=files,
    )
    state.recordings[uuid] = recording
    for file in files:
        state.files[file.id] = (uuid, file)
    return recording


def complete_processing(recording: RecordingMeeting) -> list[RecordingFile]:
    """Finish processing a recording's files, as Zoom does; the files that were processing."""
    finished = [f for f in recording.files if f.status == "processing"]
    for file in finished:
        file.status = "completed"
    return finished


def held_attendees(host: User, duration: int) -> list[Attendee]:
    """Who attended a seeded meeting: the host throughout, a colleague who dropped out and came
    back (two rows), and a guest without an email."""
    half = duration // 2
    return [
        Attendee(f"{host.first_name} {host.last_name}", host.email, ((0, duration),)),
        Attendee("Ada Lovelace", "ada@example.org", ((1, half - 2), (half, duration))),
        Attendee("Alan Turing", "", ((3, duration - 1),)),
    ]


def seed_world(state: EmulatorState) -> None:
    """The owner (email and password from the config), more users, yesterday's recordings."""
    config = state.config
    state.add_user(
        config.user_email,
        "Olivia",
        "Owner",
        password=config.user_password,
        role_name="Owner",
    )
    for index in range(1, config.seed_users):
        state.add_user(f"user{index}@example.com", "User", f"Number{index}")
    yesterday = (utcnow() - timedelta(days=1)).date()
    for user in list(state.users.values()):
        for number in range(config.recordings_per_user):
            start = datetime.combine(yesterday, time(9 + number % 12, 0), tzinfo=UTC)
            recording = add_recording(
                state,
                user.id,
                topic=f"{user.first_name}'s meeting {number + 1}",
                start_time=start,
                mp4_bytes=config.recording_bytes,
            )
            past_meetings.hold(
                state,
                user,
                uuid=recording.uuid,
                meeting_id=recording.meeting_id,
                topic=recording.topic,
                start_time=start,
                duration=recording.duration,
                attendees=held_attendees(user, recording.duration),
            )
