"""Forged events and file lists with foreign URLs: no token leaves.

Whoever can post an event to the deployment's trigger, edit a run's parameters or hand a file list
to a task controls its ``download_url``s. Here they point at a real loopback server on another
port that records every request: it must receive nothing (no request at all, so no token), while
the files Zoom really lists are archived as usual.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from helpers.chaos import archived_files
from helpers.connections import s2s_credentials
from helpers.headers import HeaderRecorder, header_recorder
from prefect import flow

from prefect_zoom import ZoomForeignHostError, ZoomNotFoundError
from prefect_zoom.flows import archive_meeting_recordings
from prefect_zoom.tasks import download_meeting_recordings, download_recording_file
from zoom_emulator import EmulatorConfig, ZoomEmulator
from zoom_emulator.models.downloads import issue_download_token


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(recordings_per_user=0)


@pytest.fixture
def block_name(zoom_emulator: ZoomEmulator) -> str:
    name = f"zoom-forged-{uuid.uuid4().hex[:10]}"
    s2s_credentials(zoom_emulator).save(name, overwrite=True)
    return name


@pytest.fixture
def foreign() -> Any:
    with header_recorder() as recorder:
        yield recorder


def forged_files(foreign: HeaderRecorder, meeting_uuid: str) -> list[dict[str, Any]]:
    """File entries that look like Zoom's but download from the foreign server."""
    return [
        {
            "id": f"forged{n}",
            "meeting_id": meeting_uuid,
            "file_type": "MP4",
            "file_extension": "MP4",
            "file_size": len(foreign.body),
            "status": "completed",
            "recording_type": "shared_screen_with_speaker_view",
            "download_url": f"{foreign.base_url}/rec/download/forged{n}",
        }
        for n in range(2)
    ]


def tokens_of(emulator: ZoomEmulator) -> list[str]:
    """Every access token the emulator issued (download tokens included)."""
    return list(emulator.state.access_tokens)


def test_a_forged_event_file_list_reaches_no_foreign_host(
    zoom_emulator: ZoomEmulator, block_name: str, foreign: HeaderRecorder, tmp_path: Path
) -> None:
    """The event names a real meeting but lists files elsewhere: Zoom's files are archived with
    the event's download token, and the foreign server hears nothing."""
    created = zoom_emulator.control(
        "POST", "recordings", json={"topic": "Forged", "mp4_bytes": 50_000}
    )
    download_token = issue_download_token(
        zoom_emulator.state, zoom_emulator.config.account_id, created["uuid"]
    ).value
    event_object = {
        "uuid": created["uuid"],
        "id": created["id"],
        "topic": "Forged",
        "recording_files": forged_files(foreign, created["uuid"]),
    }
    report = asyncio.run(
        archive_meeting_recordings(
            block_name,
            recording=event_object,
            download_token=download_token,
            destination=str(tmp_path),
        )
    )
    assert foreign.requests == []
    assert report.count("failed") == 0
    archived_ids = {name.rsplit("_", 1)[1].split(".")[0] for name in archived_files(tmp_path)}
    assert archived_ids == {f["id"] for f in created["files"]}
    assert not [p for p in tmp_path.rglob("*forged*")]


def test_a_forged_event_for_an_unknown_meeting_downloads_nothing(
    zoom_emulator: ZoomEmulator, block_name: str, foreign: HeaderRecorder, tmp_path: Path
) -> None:
    fake_uuid = "forged/UUID+meeting=="
    with pytest.raises(ZoomNotFoundError):
        asyncio.run(
            archive_meeting_recordings(
                block_name,
                recording={"uuid": fake_uuid, "recording_files": forged_files(foreign, fake_uuid)},
                download_token="forged-download-token",
                destination=str(tmp_path),
            )
        )
    assert foreign.requests == []
    assert not archived_files(tmp_path)


def test_tasks_given_foreign_file_lists_send_nothing(
    zoom_emulator: ZoomEmulator, block_name: str, foreign: HeaderRecorder, tmp_path: Path
) -> None:
    files = forged_files(foreign, "forged-meeting")
    meeting = {"uuid": "forged-meeting", "id": 1, "recording_files": files}
    host = foreign.base_url.removeprefix("http://")

    @flow
    def download_forged() -> list[str]:
        errors = []
        for call in (
            lambda: download_recording_file(block_name, files[0], tmp_path),
            lambda: download_meeting_recordings(block_name, meeting, tmp_path),
        ):
            try:
                call()
            except ZoomForeignHostError as error:
                errors.append(str(error))
        return errors

    errors = download_forged()
    assert len(errors) == 2 and all(host in error for error in errors)
    assert foreign.requests == []
    assert not [t for t in tokens_of(zoom_emulator) if any(t in e for e in errors)]
    assert not archived_files(tmp_path)
