"""Recordings made in the emulator for download tests, and the checks of what landed."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from prefect_zoom.models.recordings import RecordingFile
from zoom_emulator import EmulatorConfig, ZoomEmulator

TODAY = datetime.now(UTC).date()


def configured(**settings: object) -> pytest.MarkDecorator:
    """Start this test's emulator with these settings (overrides the ``emulator_config`` fixture)."""
    return pytest.mark.parametrize("emulator_config", [EmulatorConfig(**settings)], ids=["cfg"])


def add_recording(emulator: ZoomEmulator, day: date, **fields: Any) -> dict[str, Any]:
    """A recorded meeting of ``day`` (15:00 UTC) in the emulator, as its control API answers."""
    start = datetime.combine(day, time(15, 0), tzinfo=UTC)
    body = {"start_time": start.isoformat(), "mp4_bytes": 200_000, **fields}
    answer: dict[str, Any] = emulator.control("POST", "recordings", json=body)
    return answer


def emulator_mp4(emulator: ZoomEmulator, mp4_bytes: int) -> tuple[str, RecordingFile]:
    """A new recording of yesterday in the emulator; its MP4's id, and the MP4 as the listing
    describes it."""
    mp4 = add_recording(emulator, TODAY - timedelta(days=1), mp4_bytes=mp4_bytes)["files"][0]
    return mp4["id"], RecordingFile(
        id=mp4["id"],
        file_type="MP4",
        file_extension="MP4",
        file_size=mp4["file_size"],
        download_url=f"{emulator.base_url}/rec/download/{mp4['id']}",
    )


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_sha(emulator: ZoomEmulator, file_id: str) -> str:
    """The hex SHA-256 of the bytes the emulator serves for a file."""
    return str(emulator.control("GET", f"files/{file_id}")["sha256"])
