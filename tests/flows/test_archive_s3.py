"""``archive_recordings`` to prefect-aws's ``S3Bucket`` on moto's S3 server: streamed, checked
after upload, a rerun downloads nothing, a failed upload is neither recorded nor trashed, and a
large recording never goes through memory."""

from __future__ import annotations

import asyncio
import hashlib
import json
import resource
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers.flows import run_async
from helpers.recordings import configured
from helpers.s3 import new_bucket, object_bytes, object_sizes
from prefect.states import State
from prefect_aws.s3 import S3Bucket

from prefect_zoom.flows import ArchiveReport, archive_recordings
from prefect_zoom.flows._manifest import MANIFEST_NAME
from prefect_zoom.transfer import staging_root
from zoom_emulator import EmulatorConfig, ZoomEmulator

pytestmark = pytest.mark.usefixtures("private_tmp")  # staged files in the test's own folder


def saved_bucket(endpoint: str) -> tuple[S3Bucket, str]:
    """A new bucket saved as an ``S3Bucket`` block; the block and its ``destination_block`` slug."""
    bucket = new_bucket(endpoint)
    name = f"archive-{uuid.uuid4().hex[:10]}"
    bucket.save(name, overwrite=True)
    return bucket, f"s3-bucket/{name}"


def manifest_of(bucket: S3Bucket) -> dict[str, dict[str, Any]]:
    """The manifest's entries by path."""
    files = json.loads(object_bytes(bucket, MANIFEST_NAME))["files"]
    return {entry["path"]: entry for entry in files}


def file_id(path: str) -> str:
    """The Zoom file id in an archive path (``…/<start>_<type>_<id>.<ext>``)."""
    return path.rsplit("_", 1)[1].split(".")[0]


@configured(seed_users=2, recordings_per_user=1, recording_bytes=300_000)
def test_archives_to_an_s3_bucket_and_a_rerun_downloads_nothing(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, s3_endpoint: str
) -> None:
    bucket, slug = saved_bucket(s3_endpoint)
    report = asyncio.run(archive_recordings(block_name, whole_account=True, destination_block=slug))
    assert report.count("downloaded") == len(zoom_emulator.state.files) == 8
    objects = object_sizes(bucket)
    entries = manifest_of(bucket)
    assert set(objects) == {*entries, MANIFEST_NAME}
    for path, entry in entries.items():
        _, zoom_file = zoom_emulator.state.files[file_id(path)]
        assert objects[path] == entry["size"] == zoom_file.file_size
        expected = zoom_emulator.control("GET", f"files/{file_id(path)}")["sha256"]
        assert entry["sha256"] == expected
        assert hashlib.sha256(object_bytes(bucket, path)).hexdigest() == expected

    downloads = zoom_emulator.state.counters["downloads"]
    again = asyncio.run(archive_recordings(block_name, whole_account=True, destination_block=slug))
    assert again.count("already archived") == 8 and again.count("downloaded") == 0
    assert zoom_emulator.state.counters["downloads"] == downloads

    # An entry counts only while the object is there with its size.
    gone = sorted(entries)[0]
    client = bucket.credentials.get_s3_client()
    client.delete_object(Bucket=bucket.bucket_name, Key=f"{bucket.bucket_folder}/{gone}")
    third = asyncio.run(archive_recordings(block_name, whole_account=True, destination_block=slug))
    assert [row.path for row in third.files if row.status == "downloaded"] == [gone]
    assert object_sizes(bucket)[gone] == entries[gone]["size"]

    # A manifest that cannot be read is set aside; the objects' sizes spare every download.
    bucket.write_path(MANIFEST_NAME, b"[1, 2")
    downloads = zoom_emulator.state.counters["downloads"]
    fourth = asyncio.run(archive_recordings(block_name, whole_account=True, destination_block=slug))
    assert (
        fourth.count("downloaded") == 0 and zoom_emulator.state.counters["downloads"] == downloads
    )
    assert set(manifest_of(bucket)) == set(entries)
    assert [key for key in object_sizes(bucket) if ".corrupt-" in key]


@configured(recordings_per_user=1, recording_bytes=200_000)
def test_a_failed_or_cut_upload_is_not_recorded_nor_trashed_and_the_rerun_completes(
    emulator_config: EmulatorConfig,
    zoom_emulator: ZoomEmulator,
    block_name: str,
    s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    bucket, slug = saved_bucket(s3_endpoint)
    real_upload = S3Bucket.upload_from_path

    def failing(self: S3Bucket, from_path: Path, to_path: str, **kwargs: Any) -> str:
        if to_path.endswith(".mp4"):
            raise ConnectionError("connection reset by the S3 server")
        if to_path.endswith(".m4a"):  # the upload "ends" with part of the file
            short = tmp_path / "short.bin"
            with Path(from_path).open("rb") as staged:
                short.write_bytes(staged.read(1000))
            from_path = short
        return str(real_upload(self, from_path, to_path, **kwargs))

    monkeypatch.setattr(S3Bucket, "upload_from_path", failing)
    state: State[ArchiveReport] = run_async(
        archive_recordings(
            block_name, destination_block=slug, trash_after_archive=True, return_state=True
        )
    )
    assert state.is_failed()
    entries = manifest_of(bucket)
    assert sorted(path.rsplit(".", 1)[1] for path in entries) == ["txt", "vtt"]
    (recording,) = zoom_emulator.state.recordings.values()
    trashed = {f.file_type for f in recording.files if f.deleted}
    assert trashed == {"TRANSCRIPT", "CHAT"}  # only what the bucket holds, verified

    monkeypatch.setattr(S3Bucket, "upload_from_path", real_upload)
    report = asyncio.run(archive_recordings(block_name, destination_block=slug))
    assert sorted(
        row.path.rsplit(".", 1)[1] for row in report.files if row.status != "already archived"
    ) == ["m4a", "mp4"]
    entries = manifest_of(bucket)
    objects = object_sizes(bucket)
    assert len(entries) == 4 and all(objects[p] == e["size"] for p, e in entries.items())
    assert list(staging_root().iterdir()) == []  # the staged copies went once uploaded


def current_rss_kib() -> int:
    """This process's resident memory now, in KiB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() // 1024


@contextmanager
def rss_peak_kib() -> Iterator[list[int]]:
    """The highest resident memory seen while the block runs (sampled every few milliseconds:
    a 200 MB file held in memory stays there far longer than that)."""
    peak = [current_rss_kib()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            peak[0] = max(peak[0], current_rss_kib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join(10)
        peak[0] = max(peak[0], current_rss_kib())


@pytest.mark.slow
@configured(recordings_per_user=1, recording_bytes=200_000_000)
def test_a_large_recording_goes_to_s3_without_passing_through_memory(
    emulator_config: EmulatorConfig,
    zoom_emulator: ZoomEmulator,
    block_name: str,
    s3_endpoint: str,
    read_bytes_calls: list[Path],
) -> None:
    bucket, slug = saved_bucket(s3_endpoint)
    asyncio.run(archive_recordings(block_name, destination_block=slug, file_types=["CHAT"]))
    before = current_rss_kib()
    with rss_peak_kib() as peak:  # ru_maxrss is the whole session's peak: sample this run's
        report = asyncio.run(
            archive_recordings(block_name, destination_block=slug, file_types=["MP4"])
        )
    peak_growth_mib = (peak[0] - before) / 1024
    (row,) = report.files
    assert (row.status, row.size) == ("downloaded", 200_000_000)
    assert object_sizes(bucket)[row.path] == 200_000_000
    assert list(staging_root().iterdir()) == []
    assert not [path for path in read_bytes_calls if path.suffix == ".mp4"]
    assert peak_growth_mib < 100, f"peak memory grew by {peak_growth_mib:.0f} MiB"
