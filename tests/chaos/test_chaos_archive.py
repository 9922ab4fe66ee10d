"""Reliability of ``archive_recordings`` when Zoom misbehaves, the grant dies or the worker does.

Each scenario ends the same way: every file is byte-identical to the emulator's (its SHA-256
from ``/_emulator/files/{id}``), nothing partial is left in the destination, and one more run
downloads nothing (the emulator's ``downloads`` counter does not move).

The amounts come from ``ZOOM_CHAOS`` (see ``helpers/chaos.py``): short in ``make test``, long in
``make chaos``. Every wait is bounded; nothing here asserts on timings.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.chaos import SIZE, archived_files, assert_archive_matches_zoom, file_sha256
from helpers.connections import oauth_credentials, s2s_credentials
from helpers.flows import run_async
from prefect.settings import PREFECT_API_URL
from prefect.states import State

from prefect_zoom.flows import ArchiveReport, archive_recordings
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator
from zoom_emulator.models import content

MAX_RUNS = 3
"""Runs allowed to finish an archive under faults (a failed run is resumed by the next)."""
CHILD_TIMEOUT = 300
"""Seconds a child flow run may take before it counts as hung."""

CHILD_SCRIPT = """
import asyncio, json, sys
from prefect_zoom.flows import archive_recordings
state = asyncio.run(archive_recordings(
    sys.argv[1], destination=sys.argv[2], file_types=["MP4"],
    max_concurrency=int(sys.argv[3]), return_state=True,
))
error = state.result(raise_on_failure=False)
print(json.dumps({
    "state": state.type.value,
    "error": type(error).__name__ if isinstance(error, BaseException) else None,
    "message": str(error)[:2000] if isinstance(error, BaseException) else None,
}), flush=True)
"""


def faulty(name: str, faults: FaultSettings) -> EmulatorConfig:
    config = EmulatorConfig(
        recordings_per_user=SIZE.recordings, recording_bytes=SIZE.recording_bytes, faults=faults
    )
    return pytest.param(config, id=name)  # type: ignore[return-value]


def archive_until_done(
    block: str, destination: Path, **options: object
) -> tuple[int, ArchiveReport]:
    """Run the archive until a run completes (at most MAX_RUNS); the runs it took and the report."""
    for run in range(1, MAX_RUNS + 1):
        state: State[ArchiveReport] = run_async(
            archive_recordings(block, destination=str(destination), return_state=True, **options)
        )
        if state.is_completed():
            return run, state.result()
        print(f"run {run} ended {state.type.value}: {state.message}")
    raise AssertionError(f"the archive did not complete in {MAX_RUNS} runs")


def assert_rerun_downloads_nothing(
    emulator: ZoomEmulator, block: str, destination: Path, **options: object
) -> None:
    downloads = emulator.state.counters["downloads"]
    _, report = archive_until_done(block, destination, **options)
    assert report.count("downloaded", "resumed") == 0
    assert report.count("already archived") == len(emulator.state.files)
    assert emulator.state.counters["downloads"] == downloads


def save_block(credentials: object) -> str:
    name = f"chaos-{uuid.uuid4().hex[:10]}"
    credentials.save(name, overwrite=True)  # type: ignore[attr-defined]
    return name


def seed_big_files(emulator: ZoomEmulator) -> None:
    for number in range(SIZE.big_files):
        emulator.control(
            "POST",
            "recordings",
            json={"topic": f"big {number}", "mp4_bytes": SIZE.big_bytes, "file_types": ["MP4"]},
            timeout=30,
        )


BIG_FILES_ONLY = pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(recordings_per_user=0)], ids=["big"]
)
"""An emulator with no recordings of its own: the test's big files are all there is."""


@pytest.fixture
def big_files(emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator) -> None:
    """The big recording files of this chaos size, seeded in the test's emulator (started with
    ``emulator_config``, which :data:`BIG_FILES_ONLY` sets)."""
    seed_big_files(zoom_emulator)


@contextmanager
def archive_child(
    block: str, destination: Path, concurrency: int
) -> Iterator[subprocess.Popen[str]]:
    """The archive flow in a child process against this session's Prefect API; killed on exit
    if it is still running."""
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SCRIPT, block, str(destination), str(concurrency)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)


def wait_for_partial(child: subprocess.Popen[str], destination: Path, least: int) -> Path:
    """The first ``.partial`` holding at least ``least`` bytes (bounded wait)."""
    deadline = time.monotonic() + CHILD_TIMEOUT
    while time.monotonic() < deadline and child.poll() is None:
        for path in destination.rglob(".*.partial"):
            try:
                if path.stat().st_size >= least:
                    return path
            except FileNotFoundError:  # landed in between
                continue
        time.sleep(0.005)  # polling for the file to appear, not waiting out a race
    raise AssertionError(f"no partial download appeared (child exit code {child.poll()})")


# ---- Zoom misbehaves -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "emulator_config",
    [
        faulty("5xx-5pct", FaultSettings(error_rate=0.05, seed=5)),
        faulty("drops-2pct", FaultSettings(drop_rate=0.02, seed=6)),
        faulty("cut-downloads", FaultSettings(cut_download_rate=0.3, seed=3)),
        faulty(
            "all-together",
            FaultSettings(error_rate=0.05, drop_rate=0.02, cut_download_rate=0.3, seed=7),
        ),
    ],
)
def test_archive_survives_faults(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    block = save_block(s2s_credentials(zoom_emulator))
    runs, report = archive_until_done(block, tmp_path, max_concurrency=4)
    counters = zoom_emulator.state.counters
    faults = {k: v for k, v in counters.items() if k.startswith("fault")}
    print(f"{SIZE.name}: {runs} run(s); faults {faults}; {report.count('resumed')} resumed")
    assert sum(faults.values()) > 0, "no fault was injected: the scenario tested nothing"
    assert_archive_matches_zoom(zoom_emulator, tmp_path)
    assert_rerun_downloads_nothing(zoom_emulator, block, tmp_path, max_concurrency=4)


# ---- the grant dies --------------------------------------------------------------------------
@BIG_FILES_ONLY
def test_revoked_connection_ends_with_authorize_again(
    zoom_emulator: ZoomEmulator, big_files: None, tmp_path: Path
) -> None:
    block = save_block(oauth_credentials(zoom_emulator))
    with archive_child(block, tmp_path, concurrency=1) as child:
        wait_for_partial(child, tmp_path, least=1)
        revoked = zoom_emulator.control("POST", "connections/revoke", json={})
        assert revoked["revoked_refresh_tokens"] >= 1
        stdout, stderr = child.communicate(timeout=CHILD_TIMEOUT)  # a hang fails here
    lines = stdout.strip().splitlines()
    assert lines, stderr[-3000:]
    outcome = json.loads(lines[-1])
    assert outcome["state"] == "FAILED", outcome
    assert outcome["error"] == "ZoomAuthorizeAgainError", outcome
    assert "authorize" in outcome["message"].lower()
    assert len(archived_files(tmp_path)) < SIZE.big_files

    # Authorize again (a new connection saved under the same name): the rerun finishes the job.
    oauth_credentials(zoom_emulator).save(block, overwrite=True)
    _, report = archive_until_done(block, tmp_path, file_types=["MP4"])
    assert report.count("downloaded", "resumed") >= 1
    assert_archive_matches_zoom(zoom_emulator, tmp_path)
    assert_rerun_downloads_nothing(zoom_emulator, block, tmp_path, file_types=["MP4"])


# ---- the worker dies -------------------------------------------------------------------------
@BIG_FILES_ONLY
def test_worker_killed_mid_download_then_rerun_completes(
    zoom_emulator: ZoomEmulator, big_files: None, tmp_path: Path
) -> None:
    """A worker killed with SIGKILL mid-download: the rerun resumes its partial file."""
    block = save_block(s2s_credentials(zoom_emulator))
    with archive_child(block, tmp_path, concurrency=2) as child:
        partial = wait_for_partial(child, tmp_path, least=1_000_000)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    assert len(archived_files(tmp_path)) < SIZE.big_files
    print(f"killed with {partial.name} partly downloaded")

    _, report = archive_until_done(block, tmp_path, file_types=["MP4"], max_concurrency=2)
    assert report.count("resumed") >= 1  # the cut file went on from its partial
    assert_archive_matches_zoom(zoom_emulator, tmp_path)
    assert_rerun_downloads_nothing(
        zoom_emulator, block, tmp_path, file_types=["MP4"], max_concurrency=2
    )


# ---- Zoom has not finished -------------------------------------------------------------------
@pytest.mark.parametrize(
    "emulator_config",
    [
        faulty(
            "trash-while-processing", FaultSettings(error_rate=0.05, cut_download_rate=0.3, seed=9)
        )
    ],
)
def test_nightly_trash_keeps_a_file_zoom_is_still_processing(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    created = zoom_emulator.control(
        "POST",
        "recordings",
        json={
            "topic": "still processing",
            "mp4_bytes": SIZE.recording_bytes,
            "processing_file_types": ["MP4"],
        },
    )
    recording = zoom_emulator.state.recordings[created["uuid"]]
    (processing,) = [f for f in recording.files if f.status == "processing"]
    block = save_block(s2s_credentials(zoom_emulator))

    runs, report = archive_until_done(block, tmp_path, trash_after_archive=True)
    print(f"{SIZE.name}: {runs} run(s); {report.trashed_files} trashed")
    assert not processing.deleted and not recording.deleted  # still in Zoom
    assert [k.file_id for k in report.kept_in_zoom] == [processing.id]
    others = [f for _, f in zoom_emulator.state.files.values() if f is not processing]
    assert all(f.deleted for f in others)  # everything archived went to the trash, file by file
    landed = {
        name.rsplit("_", 1)[1].split(".")[0]: path
        for name, path in archived_files(tmp_path).items()
    }
    assert set(landed) == {f.id for f in others}
    for file in others:
        assert file_sha256(landed[file.id]) == content.sha256(file.id, file.file_size)
