"""``archive_meeting_recordings`` against the emulator: one meeting, from a delivered event."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers.connections import s2s_credentials
from helpers.prefect_server import archived_by_file_id
from helpers.webhooks import subscribed_receiver
from pydantic import SecretStr

from prefect_zoom.exceptions import ZoomAuthError, ZoomInputError
from prefect_zoom.flows import ArchiveReport, archive_meeting_recordings, archive_recordings
from prefect_zoom.flows._manifest import MANIFEST_NAME
from zoom_emulator import EmulatorConfig, ZoomEmulator
from zoom_emulator.models.downloads import issue_download_token

DOWNLOAD_ROUTE = "GET /rec/download/{file_id}"


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """No seeded recordings: every file in the emulator is the one the test adds."""
    return EmulatorConfig(recordings_per_user=0)


@pytest.fixture
def event(zoom_emulator: ZoomEmulator) -> dict[str, Any]:
    """The payload of the ``zoom.recording.completed`` Prefect event of a new recording.

    The real path: the emulator validates and subscribes the receiver, a new recording makes it
    send a signed ``recording.completed``, and the receiver turns it into the Prefect event.
    """
    with subscribed_receiver(zoom_emulator) as (app, emit):
        zoom_emulator.control(
            "POST",
            "recordings",
            json={"topic": "Event archive", "mp4_bytes": 250_000},
        )
        assert emit.arrived.wait(15), "no Prefect event was emitted"
        assert app.state.receiver.drain(10)
    (call,) = emit.calls
    assert call["event"] == "zoom.recording.completed"
    payload: dict[str, Any] = call["payload"]
    assert payload["download_token"]
    return payload


def assert_archived(emulator: ZoomEmulator, folder: Path, recording: dict[str, Any]) -> None:
    """Every file of the recording landed once, byte-identical, and is in the manifest."""
    files = archived_by_file_id(folder)
    assert set(files) == {f["id"] for f in recording["recording_files"]}
    for file_id, path in files.items():
        digest = emulator.control("GET", f"files/{file_id}")["sha256"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path.name
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert {entry["file_id"] for entry in manifest["files"]} == set(files)
    assert {entry["meeting_uuid"] for entry in manifest["files"]} == {recording["uuid"]}
    assert not list(folder.rglob(".*.partial"))


def counters(emulator: ZoomEmulator) -> dict[str, int]:
    return dict(emulator.state.counters)


def grew(before: dict[str, int], after: dict[str, int], prefix: str) -> int:
    """How much the counters starting with ``prefix`` grew."""
    keys = {k for k in (*before, *after) if k.startswith(prefix)}
    return sum(after.get(k, 0) - before.get(k, 0) for k in keys)


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every log line of the run (Prefect's run loggers, the client, httpx), at DEBUG."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("prefect", "prefect_zoom", "httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def test_the_event_download_token_downloads_the_files_zoom_lists(
    zoom_emulator: ZoomEmulator, block_name: str, event: dict[str, Any], tmp_path: Path
) -> None:
    recording = event["object"]
    token = event["download_token"]
    before = counters(zoom_emulator)
    with captured_logs() as lines:
        report = asyncio.run(
            archive_meeting_recordings(
                block_name, recording=recording, download_token=token, destination=str(tmp_path)
            )
        )
    after = counters(zoom_emulator)

    assert isinstance(report, ArchiveReport)
    assert report.meetings == 1
    files = len(recording["recording_files"])
    assert files >= 2
    assert report.count("downloaded") == files
    assert_archived(zoom_emulator, tmp_path, recording)
    # the connection only listed the meeting's files; the download token fetched them
    assert grew(before, after, "GET /v2/") == 1
    assert grew(before, after, "GET /v2/meetings/") == 1
    assert grew(before, after, f"{DOWNLOAD_ROUTE} 302") == files
    assert sum("(download token)" in line for line in lines) == files
    # and the token is in no log line
    assert not [line for line in lines if token in line]

    # a rerun (a duplicate event) downloads nothing
    again = asyncio.run(
        archive_meeting_recordings(
            block_name, recording=recording, download_token=token, destination=str(tmp_path)
        )
    )
    assert again.count("already archived") == files
    assert again.count("downloaded", "resumed") == 0
    assert counters(zoom_emulator)["downloads"] == after["downloads"]


def test_a_dead_connection_stops_the_flow_before_any_download(
    zoom_emulator: ZoomEmulator, event: dict[str, Any], tmp_path: Path
) -> None:
    """A block whose secret Zoom refuses cannot list the meeting: the event's own file list is
    not a substitute, so nothing is downloaded, not even with the download token."""
    name = f"zoom-broken-{uuid.uuid4().hex[:10]}"
    broken = s2s_credentials(zoom_emulator)
    broken.client_secret = SecretStr("not-the-secret")
    broken.save(name, overwrite=True)
    before = counters(zoom_emulator)
    with pytest.raises(ZoomAuthError):
        asyncio.run(
            archive_meeting_recordings(
                name,
                recording=event["object"],
                download_token=event["download_token"],
                destination=str(tmp_path),
            )
        )
    assert grew(before, counters(zoom_emulator), "GET /rec/") == 0
    assert not archived_by_file_id(tmp_path)


def test_without_a_download_token_the_connection_downloads(
    zoom_emulator: ZoomEmulator, block_name: str, event: dict[str, Any], tmp_path: Path
) -> None:
    before = counters(zoom_emulator)
    report = asyncio.run(
        archive_meeting_recordings(block_name, recording=event["object"], destination=str(tmp_path))
    )
    after = counters(zoom_emulator)
    assert report.count("downloaded") == len(event["object"]["recording_files"])
    assert_archived(zoom_emulator, tmp_path, event["object"])
    assert grew(before, after, "grant ") >= 1  # the connection got its token


def test_a_refused_download_token_falls_back_to_the_connection(
    zoom_emulator: ZoomEmulator, block_name: str, event: dict[str, Any], tmp_path: Path
) -> None:
    recording = event["object"]
    expired = issue_download_token(
        zoom_emulator.state, zoom_emulator.config.account_id, recording["uuid"], ttl=-1
    )
    before = counters(zoom_emulator)
    report = asyncio.run(
        archive_meeting_recordings(
            block_name, recording=recording, download_token=expired.value, destination=str(tmp_path)
        )
    )
    after = counters(zoom_emulator)
    files = len(recording["recording_files"])
    assert report.count("downloaded") == files
    assert report.count("failed") == 0
    assert_archived(zoom_emulator, tmp_path, recording)
    assert grew(before, after, f"{DOWNLOAD_ROUTE} 401") == files  # the token, refused
    assert grew(before, after, f"{DOWNLOAD_ROUTE} 302") == files  # then the connection


def test_by_meeting_uuid_the_flow_asks_zoom_for_the_files(
    zoom_emulator: ZoomEmulator, block_name: str, event: dict[str, Any], tmp_path: Path
) -> None:
    recording = event["object"]
    before = counters(zoom_emulator)
    report = asyncio.run(
        archive_meeting_recordings(
            block_name, meeting_uuid=recording["uuid"], destination=str(tmp_path)
        )
    )
    after = counters(zoom_emulator)
    assert grew(before, after, "GET /v2/meetings/") == 1
    assert report.count("downloaded") == len(recording["recording_files"])
    assert_archived(zoom_emulator, tmp_path, recording)


def test_the_nightly_archive_finds_the_meeting_already_archived(
    zoom_emulator: ZoomEmulator, block_name: str, event: dict[str, Any], tmp_path: Path
) -> None:
    """Same layout, same manifest: the nightly run downloads nothing the event archived."""
    first = asyncio.run(
        archive_meeting_recordings(
            block_name,
            recording=event["object"],
            download_token=event["download_token"],
            destination=str(tmp_path),
            file_types=["MP4"],
        )
    )
    assert [row.status for row in first.files] == ["downloaded"]
    downloads = counters(zoom_emulator)["downloads"]
    nightly = asyncio.run(
        archive_recordings(block_name, destination=str(tmp_path), file_types=["MP4"])
    )
    assert nightly.meetings == 1
    assert [row.status for row in nightly.files] == ["already archived"]
    assert [row.path for row in nightly.files] == [row.path for row in first.files]
    assert counters(zoom_emulator)["downloads"] == downloads


def test_it_needs_a_recording_or_a_meeting_uuid(
    zoom_emulator: ZoomEmulator, block_name: str, event: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(ZoomInputError, match="neither a recording nor a meeting_uuid"):
        asyncio.run(archive_meeting_recordings(block_name, destination=str(tmp_path)))
    with pytest.raises(ZoomInputError, match="is not the UUID"):
        asyncio.run(
            archive_meeting_recordings(
                block_name,
                recording=event["object"],
                meeting_uuid="another-uuid",
                destination=str(tmp_path),
            )
        )
    forged = {k: v for k, v in event["object"].items() if k != "uuid"}
    with pytest.raises(ZoomInputError, match="has no meeting UUID"):
        asyncio.run(
            archive_meeting_recordings(block_name, recording=forged, destination=str(tmp_path))
        )
    assert not archived_by_file_id(tmp_path)


def test_a_meeting_with_a_file_still_processing_reports_it_and_archives_the_rest(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = zoom_emulator.control(
        "POST", "recordings", json={"mp4_bytes": 40_000, "processing_file_types": ["MP4"]}
    )
    report = asyncio.run(
        archive_meeting_recordings(
            block_name, meeting_uuid=created["uuid"], destination=str(tmp_path)
        )
    )
    assert report.processing_files == 1
    assert report.count("downloaded") == 3
    mp4 = next(f["id"] for f in created["files"] if f["file_type"] == "MP4")
    assert mp4 not in archived_by_file_id(tmp_path)
