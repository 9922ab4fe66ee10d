"""``archive_recordings`` against the emulator: verified files, idempotent reruns, resume, trash."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fsspec
import pytest
from helpers.flows import run_async
from helpers.recordings import configured
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.filesystems import LocalFileSystem, RemoteFileSystem
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL
from prefect.states import State

from prefect_zoom.flows import ArchiveReport, archive_recordings
from prefect_zoom.flows._archive import Throttle
from prefect_zoom.flows._manifest import MANIFEST_NAME
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator
from zoom_emulator.models import content

FILE_ROUTE = "GET /rec/files/{file_id}"


def archived_files(folder: Path) -> dict[str, Path]:
    """Archived recording files by name (the manifest and hidden files left out)."""
    return {
        p.name: p
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith(".")
    }


def assert_identical_to_zoom(emulator: ZoomEmulator, folder: Path) -> None:
    """Every file in the emulator's recordings landed once, byte-identical, nothing partial."""
    files = archived_files(folder)
    assert len(files) == len(emulator.state.files)
    for name, path in files.items():
        file_id = name.rsplit("_", 1)[1].split(".")[0]
        digest = emulator.control("GET", f"files/{file_id}")["sha256"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
    assert not [p for p in folder.rglob(".*.partial")]


@configured(seed_users=2, recordings_per_user=2, recording_bytes=300_000)
def test_archives_the_whole_account_then_reruns_download_nothing(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    destination = tmp_path / "archive"
    report = asyncio.run(
        archive_recordings(block_name, whole_account=True, destination=str(destination))
    )
    assert report.meetings == 4
    assert report.count("downloaded") == 16
    assert_identical_to_zoom(zoom_emulator, destination)
    manifest = json.loads((destination / MANIFEST_NAME).read_text())
    assert len(manifest["files"]) == 16
    assert all(entry["sha256"] for entry in manifest["files"])

    downloads_before = zoom_emulator.state.counters["downloads"]
    stored = (destination / MANIFEST_NAME).stat()
    again = asyncio.run(
        archive_recordings(block_name, whole_account=True, destination=str(destination))
    )
    assert again.count("already archived") == 16
    assert again.count("downloaded", "resumed") == 0
    assert zoom_emulator.state.counters["downloads"] == downloads_before
    # nothing new: the manifest is not written again (no rename, no fsync)
    unchanged = (destination / MANIFEST_NAME).stat()
    assert (unchanged.st_ino, unchanged.st_mtime_ns) == (stored.st_ino, stored.st_mtime_ns)


@configured(
    recordings_per_user=1,
    recording_bytes=3_000_000,
    faults=FaultSettings(cut_download_rate=0.5, seed=1),
)
def test_a_cut_download_resumes_within_the_run(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    report = asyncio.run(
        archive_recordings(block_name, destination=str(tmp_path), file_types=["MP4"])
    )
    assert zoom_emulator.state.counters["fault cut download"] >= 1
    assert report.count("resumed") >= 1
    assert zoom_emulator.state.counters[f"{FILE_ROUTE} 206"] >= 1
    (mp4,) = archived_files(tmp_path).values()
    file_id = mp4.name.rsplit("_", 1)[1].split(".")[0]
    assert (
        hashlib.sha256(mp4.read_bytes()).hexdigest()
        == zoom_emulator.control("GET", f"files/{file_id}")["sha256"]
    )


@configured(recordings_per_user=1, recording_bytes=400_000_000)
def test_a_run_killed_mid_download_resumes_on_the_next_run(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    script = (
        "import asyncio, sys\n"
        "from prefect_zoom.flows import ArchiveReport, archive_recordings\n"
        "asyncio.run(archive_recordings(sys.argv[1], destination=sys.argv[2], file_types=['MP4']))\n"
    )
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    worker = subprocess.Popen(
        [sys.executable, "-c", script, block_name, str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        partial: list[Path] = []
        while time.monotonic() < deadline and worker.poll() is None:
            partial = [p for p in tmp_path.rglob(".*.partial") if p.stat().st_size > 1_000_000]
            if partial:
                break
            time.sleep(0.01)  # polling for the file to appear, not waiting out a race
        assert partial, "the download never started"
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
    have = partial[0].stat().st_size
    assert 0 < have < 400_000_000
    assert not archived_files(tmp_path)

    report = asyncio.run(
        archive_recordings(block_name, destination=str(tmp_path), file_types=["MP4"])
    )
    assert report.count("resumed") == 1
    # One full answer (the killed run), then one ranged answer: the rerun resumed, not restarted.
    assert zoom_emulator.state.counters[f"{FILE_ROUTE} 200"] == 1
    assert zoom_emulator.state.counters[f"{FILE_ROUTE} 206"] == 1
    (mp4,) = archived_files(tmp_path).values()
    assert mp4.stat().st_size == 400_000_000
    assert not list(tmp_path.rglob(".*.partial"))


@configured(recordings_per_user=2, recording_bytes=100_000)
def test_trash_only_after_every_file_is_verified(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    # The first meeting's files answer with Zoom's HTML sign-in page: nothing of it may be trashed.
    uuids = list(zoom_emulator.state.recordings)
    bad = zoom_emulator.state.recordings[uuids[0]]
    bad_ids = {f.id for f in bad.files}
    for file in bad.files:
        file.content_type = "text/html"  # the emulator serves the file as HTML: verification fails

    state: State[ArchiveReport] = run_async(
        archive_recordings(
            block_name, destination=str(tmp_path), trash_after_archive=True, return_state=True
        )
    )
    assert state.is_failed()
    assert bad.deleted is False and not any(f.deleted for f in bad.files)
    good = zoom_emulator.state.recordings[uuids[1]]
    assert all(f.deleted for f in good.files)  # trashed file by file, each verified
    landed = {name.rsplit("_", 1)[1].split(".")[0] for name in archived_files(tmp_path)}
    assert landed.isdisjoint(bad_ids)
    assert len(landed) == len(zoom_emulator.state.files) - len(bad_ids)


@configured(recordings_per_user=2, recording_bytes=100_000)
def test_files_reach_the_disk_before_zoom_trashes_them(
    emulator_config: EmulatorConfig,
    zoom_emulator: ZoomEmulator,
    block_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = zoom_emulator.state.files
    in_zoom_when_synced: dict[str, set[str]] = {}  # path -> files not yet trashed at its fsync
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        in_zoom_when_synced[path] = {fid for fid, (_, f) in files.items() if not f.deleted}
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    report = asyncio.run(
        archive_recordings(block_name, destination=str(tmp_path), trash_after_archive=True)
    )
    assert all(f.deleted for _, f in files.values())
    assert (report.trashed_files, report.trashed_meetings, report.kept_in_zoom) == (8, 2, [])
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())["files"]
    assert len(manifest) == len(files)
    for entry in manifest:
        assert entry["trashed_in_zoom"] is True
        still_in_zoom = in_zoom_when_synced[str(tmp_path / entry["path"])]
        assert entry["file_id"] in still_in_zoom, entry["path"]


def test_downloads_skip_fsync_unless_durable(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path, fsynced: list[str]
) -> None:
    asyncio.run(archive_recordings(block_name, destination=str(tmp_path)))
    files = archived_files(tmp_path)
    assert files and not set(fsynced) & {str(p) for p in files.values()}
    assert not [p for p in fsynced if p.endswith(".partial")]


@configured(recordings_per_user=1, recording_bytes=50_000)
def test_artifacts_and_parameters_hold_no_secret(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    block_document = f"archive-dest-{uuid.uuid4().hex[:8]}"
    LocalFileSystem(basepath=str(tmp_path / "block")).save(block_document, overwrite=True)
    state: State[ArchiveReport] = run_async(
        archive_recordings(
            block_name, destination_block=f"local-file-system/{block_document}", return_state=True
        )
    )
    report = state.result()
    assert isinstance(report, ArchiveReport)
    assert report.count("downloaded") == 4
    assert (tmp_path / "block" / MANIFEST_NAME).exists()

    secrets = [zoom_emulator.config.s2s_client_secret, *zoom_emulator.state.access_tokens]
    assert state.state_details.flow_run_id is not None
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="zoom-archive"))
        )
    assert run.parameters["credentials_block"] == block_name
    dumped = json.dumps(run.parameters, default=str) + json.dumps(
        [a.data for a in artifacts], default=str
    )
    assert "zoom-archive-files" in {a.key for a in artifacts}
    for secret in secrets:
        assert secret not in dumped


def test_two_runs_saving_one_manifest_keep_each_others_entries(tmp_path: Path) -> None:
    from prefect_zoom.flows._manifest import Manifest, ManifestEntry

    def entry(path: str) -> ManifestEntry:
        return ManifestEntry(
            path=path,
            file_id=path,
            meeting_uuid="u",
            meeting_id=1,
            file_type="MP4",
            size=1,
            sha256="0" * 64,
        )

    nightly, triggered = Manifest.load(tmp_path), Manifest.load(tmp_path)
    nightly.add(entry("a.mp4"))
    triggered.add(entry("b.mp4"))
    nightly.save()
    triggered.save()
    assert set(Manifest.load(tmp_path).entries) == {"a.mp4", "b.mp4"}

    # Both loaded the same stored manifest; each saves twice, taking turns.
    nightly, triggered = Manifest.load(tmp_path), Manifest.load(tmp_path)
    for name in ("c", "d"):
        nightly.add(entry(f"{name}1.mp4"))
        nightly.save()
        triggered.add(entry(f"{name}2.mp4"))
        triggered.save()
    stored = Manifest.load(tmp_path).entries
    assert set(stored) == {"a.mp4", "b.mp4", "c1.mp4", "c2.mp4", "d1.mp4", "d2.mp4"}
    assert set(triggered.entries) == set(stored)  # the last saver holds everything


@configured(recordings_per_user=1, recording_bytes=30_000)
def test_a_file_removed_from_the_archive_is_downloaded_again(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    first = asyncio.run(archive_recordings(block_name, destination=str(tmp_path)))
    assert first.count("downloaded") == 4
    removed = next(iter(archived_files(tmp_path).values()))
    removed.unlink()
    again = asyncio.run(archive_recordings(block_name, destination=str(tmp_path)))
    assert again.count("downloaded") == 1
    assert again.count("already archived") == 3
    assert removed.exists()


@pytest.fixture
def task_run_info_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Task runs log at INFO in this test (the suite runs at WARNING)."""
    caplog.set_level(logging.INFO, logger="prefect.task_runs")


@configured(recordings_per_user=2, recording_bytes=30_000)
@pytest.mark.usefixtures("task_run_info_logs")
def test_the_run_logs_progress_not_a_line_per_file(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    state: State[ArchiveReport] = run_async(
        archive_recordings(block_name, destination=str(tmp_path), return_state=True)
    )
    assert state.result().count("downloaded") == 8
    APILogWorker.drain_all()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    messages = [log.message for log in logs]
    assert "Archived 8 of 8 files (0 failed)" in messages
    assert not [m for m in messages if " downloaded to " in m]  # those are DEBUG lines


def test_progress_reports_are_spaced_by_their_own_cost() -> None:
    """At least ``seconds`` apart, and a report that took long pushes the next one further out,
    so saving a manifest of many files never takes more than ``share`` of the run."""
    now = [100.0]
    throttle = Throttle(5.0, share=0.05, clock=lambda: now[0])
    now[0] = 104.9
    assert not throttle.due()
    now[0] = 105.0
    assert throttle.due()
    assert not throttle.due()  # once per period
    throttle.took(0.1)  # cheap: the period stands
    now[0] = 110.0
    assert throttle.due()
    throttle.took(1.0)  # 1 s of work: the next one comes 20 s later (5 % of the time)
    now[0] = 129.9
    assert not throttle.due()
    now[0] = 130.0
    assert throttle.due()


# ---- what is trashed, what is kept, what is never overwritten ------------------------------------
def add_recording(emulator: ZoomEmulator, **fields: object) -> dict[str, Any]:
    """A recording of yesterday, added through the emulator's control surface."""
    created: dict[str, Any] = emulator.control("POST", "recordings", json=fields)
    return created


@configured(recordings_per_user=0)
def test_trash_keeps_the_files_zoom_is_still_processing(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = add_recording(zoom_emulator, mp4_bytes=50_000, processing_file_types=["MP4"])
    recording = zoom_emulator.state.recordings[created["uuid"]]
    mp4 = next(f for f in recording.files if f.file_type == "MP4")

    report = asyncio.run(
        archive_recordings(block_name, destination=str(tmp_path), trash_after_archive=True)
    )
    assert not recording.deleted  # never the whole meeting
    assert not mp4.deleted  # the MP4 was never archived: it stays in Zoom
    assert [f.deleted for f in recording.files if f is not mp4] == [True, True, True]
    assert (report.trashed_files, report.trashed_meetings, report.processing_files) == (3, 0, 1)
    (kept,) = report.kept_in_zoom
    assert (kept.file_id, kept.file_type) == (mp4.id, "MP4")
    assert "still processing" in kept.reason
    assert len(archived_files(tmp_path)) == 3

    # Zoom finishes the MP4: the next run archives it, then trashes it.
    zoom_emulator.control("POST", f"recordings/{quote(created['uuid'], safe='')}/complete")
    again = asyncio.run(
        archive_recordings(block_name, destination=str(tmp_path), trash_after_archive=True)
    )
    assert again.count("downloaded") == 1 and again.kept_in_zoom == []
    assert mp4.deleted and again.trashed_files == 1
    assert_identical_to_zoom(zoom_emulator, tmp_path)


@configured(recordings_per_user=1, recording_bytes=40_000)
def test_a_verified_file_is_never_overwritten_by_another_copy(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    asyncio.run(archive_recordings(block_name, destination=str(tmp_path), file_types=["MP4"]))
    (original,) = archived_files(tmp_path).values()
    kept_bytes = original.read_bytes()
    # Zoom now lists the same file (same ids) with another size.
    (mp4,) = [f for _, f in zoom_emulator.state.files.values() if f.file_type == "MP4"]
    mp4.file_size += 1_000

    report = asyncio.run(
        archive_recordings(block_name, destination=str(tmp_path), file_types=["MP4"])
    )
    assert original.read_bytes() == kept_bytes
    (conflict,) = report.conflicts
    assert conflict.status == "downloaded" and conflict.size == mp4.file_size
    assert conflict.conflict_with == original.relative_to(tmp_path).as_posix()
    beside = tmp_path / conflict.path
    assert beside.parent == original.parent and beside != original
    assert hashlib.sha256(beside.read_bytes()).hexdigest() == content.sha256(mp4.id, mp4.file_size)
    summary = json.loads((tmp_path / MANIFEST_NAME).read_text())["files"]
    assert {e["path"]: e["size"] for e in summary} == {
        conflict.conflict_with: len(kept_bytes),
        conflict.path: mp4.file_size,
    }
    # The next run finds both copies archived and downloads nothing.
    downloads = zoom_emulator.state.counters["downloads"]
    again = asyncio.run(
        archive_recordings(block_name, destination=str(tmp_path), file_types=["MP4"])
    )
    assert again.count("already archived") == 1 and len(again.conflicts) == 1
    assert zoom_emulator.state.counters["downloads"] == downloads


@configured(recordings_per_user=1, recording_bytes=30_000)
def test_a_remote_store_entry_counts_only_while_the_object_is_there(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    store = f"archive-remote-{uuid.uuid4().hex[:8]}"
    block = RemoteFileSystem(basepath=f"memory://{store}")
    block.save(store, overwrite=True)
    first = asyncio.run(
        archive_recordings(block_name, destination_block=f"remote-file-system/{store}")
    )
    assert first.count("downloaded") == 4
    fs = fsspec.filesystem("memory")
    gone, shrunk = [block._resolve_path(row.path) for row in first.files[:2]]
    fs.rm(gone)
    fs.pipe_file(shrunk, b"short")

    again = asyncio.run(
        archive_recordings(block_name, destination_block=f"remote-file-system/{store}")
    )
    assert again.count("already archived") == 2
    assert sorted(row.path for row in again.files if row.status == "downloaded") == sorted(
        row.path for row in first.files[:2]
    )
    assert fs.size(gone) == first.files[0].size and fs.size(shrunk) == first.files[1].size


@configured(recordings_per_user=1, recording_bytes=30_000)
def test_a_corrupt_manifest_is_set_aside_and_rebuilt_from_the_destination(
    emulator_config: EmulatorConfig,
    zoom_emulator: ZoomEmulator,
    block_name: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    asyncio.run(archive_recordings(block_name, destination=str(tmp_path)))
    manifest = tmp_path / MANIFEST_NAME
    manifest.write_bytes(b'{"files": [{"path": "../../etc/passwd"')  # cut short, and hostile
    downloads = zoom_emulator.state.counters["downloads"]

    report = asyncio.run(archive_recordings(block_name, destination=str(tmp_path)))
    assert report.count("already archived") == 4
    assert zoom_emulator.state.counters["downloads"] == downloads
    (aside,) = tmp_path.glob(f"{MANIFEST_NAME}.corrupt-*")
    assert aside.read_bytes() == b'{"files": [{"path": "../../etc/passwd"'
    aside.unlink()
    rebuilt = json.loads(manifest.read_text())["files"]
    assert sorted(e["path"] for e in rebuilt) == sorted(row.path for row in report.files)
    assert any(
        "set aside as" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records
    )
    assert_identical_to_zoom(zoom_emulator, tmp_path)


def manifest_entry(path: str, size: int = 5) -> dict[str, object]:
    return {
        "path": path,
        "file_id": "f1",
        "meeting_uuid": "u",
        "meeting_id": 1,
        "file_type": "MP4",
        "size": size,
        "sha256": None,
    }


def test_a_manifest_entry_pointing_outside_the_destination_sets_it_aside(tmp_path: Path) -> None:
    from prefect_zoom.flows._manifest import Manifest

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a_mp4_f1.mp4").write_bytes(b"12345")
    (tmp_path / "m" / ".a_mp4_f2.mp4.partial").write_bytes(b"12")  # not a landed file
    hostile = json.dumps({"files": [manifest_entry("../../etc/passwd", 1)]})
    (tmp_path / MANIFEST_NAME).write_text(hostile)
    manifest = Manifest.load(tmp_path)
    assert list(manifest.entries) == ["m/a_mp4_f1.mp4"]
    assert manifest.has("m/a_mp4_f1.mp4", 5) and not manifest.has("m/a_mp4_f1.mp4", 6)
    assert [p.read_text() for p in tmp_path.glob(f"{MANIFEST_NAME}.corrupt-*")] == [hostile]
    manifest.save()
    assert set(Manifest.load(tmp_path).entries) == {"m/a_mp4_f1.mp4"}


def test_a_manifest_is_written_only_when_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a bucket too: a rerun that archived nothing new uploads no manifest."""
    from prefect_zoom.flows._manifest import Manifest, ManifestEntry

    block = RemoteFileSystem(basepath=f"memory://manifest-{uuid.uuid4().hex[:8]}")
    written: list[bytes] = []
    write = Manifest.write_file

    def counted(destination: Any, data: bytes, name: str = MANIFEST_NAME) -> None:
        written.append(data)
        write(destination, data, name)

    monkeypatch.setattr(Manifest, "write_file", staticmethod(counted))
    first = Manifest.load(block)
    first.add(ManifestEntry.model_validate(manifest_entry("m/a_mp4_f1.mp4")))
    first.save()
    first.save()  # nothing changed since
    rerun = Manifest.load(block)
    rerun.save()
    assert len(written) == 1
    rerun.entries["m/a_mp4_f1.mp4"].trashed_in_zoom = True
    rerun.save()
    assert len(written) == 2
    assert Manifest.load(block).entries["m/a_mp4_f1.mp4"].trashed_in_zoom


def test_a_corrupt_manifest_in_a_remote_store_is_rebuilt_from_its_objects() -> None:
    from prefect_zoom.flows._manifest import Manifest

    block = RemoteFileSystem(basepath=f"memory://manifest-{uuid.uuid4().hex[:8]}")
    fs = fsspec.filesystem("memory")
    fs.pipe_file(block._resolve_path("m/a_mp4_f1.mp4"), b"12345")
    fs.pipe_file(block._resolve_path(MANIFEST_NAME), b"[1, 2")
    manifest = Manifest.load(block)
    assert {p: e.size for p, e in manifest.entries.items()} == {"m/a_mp4_f1.mp4": 5}
    assert not fs.exists(block._resolve_path(MANIFEST_NAME))
    (aside,) = [p for p in fs.ls(block._resolve_path(""), detail=False) if ".corrupt-" in p]
    assert fs.cat_file(aside) == b"[1, 2"


def test_plan_protects_a_kept_file_only_while_it_is_there(tmp_path: Path) -> None:
    from prefect_zoom.flows._manifest import Manifest, ManifestEntry
    from prefect_zoom.models.recordings import RecordingFile
    from prefect_zoom.transfer import DownloadJob

    manifest = Manifest.load(tmp_path)
    manifest.add(ManifestEntry.model_validate(manifest_entry("m/a_mp4_f1.mp4", 5)))
    bigger = RecordingFile(id="f1", file_type="MP4", file_size=6, download_url="https://x/f1")
    job = DownloadJob(bigger, "m/a_mp4_f1.mp4", "u")
    assert [j.relative_path for j in manifest.plan([job]).to_download] == ["m/a_mp4_f1.mp4"]

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a_mp4_f1.mp4").write_bytes(b"12345")
    plan = manifest.plan([job])
    assert [j.relative_path for j in plan.to_download] == ["m/a_mp4_f1.conflict-6.mp4"]
    assert plan.conflicts == {"m/a_mp4_f1.conflict-6.mp4": "m/a_mp4_f1.mp4"}
