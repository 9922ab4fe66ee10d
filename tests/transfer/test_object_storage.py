"""Storage blocks that are not fsspec stores: S3 (prefect-aws ``S3Bucket`` on moto's S3 server)
streams from the staged file and is checked after upload; ``write_path``-only blocks have a limit."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers.connections import s2s_credentials
from helpers.recordings import emulator_mp4, expected_sha
from helpers.s3 import new_bucket, object_bytes, object_sizes
from prefect.filesystems import WritableFileSystem
from prefect_aws.s3 import S3Bucket

from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.transfer import IN_MEMORY_LIMIT, destinations, download_recording, staging_root
from prefect_zoom.transfer.destinations import UploadStore, store_for
from zoom_emulator import ZoomEmulator

WRITTEN: dict[str, bytes] = {}


class WritePathOnly(WritableFileSystem):
    """A block with only ``write_path`` (bytes kept in :data:`WRITTEN`)."""

    _block_type_slug = "prefect-zoom-test-write-path-only"

    async def read_path(self, path: str) -> bytes:
        return WRITTEN[path]

    async def write_path(self, path: str, content: bytes) -> None:
        WRITTEN[path] = content


@pytest.mark.parametrize("folder", ["", "zoom", "a/b/", "/lead"])
def test_an_s3_bucket_block_gets_an_upload_adapter_whose_keys_are_the_blocks(
    s3_endpoint: str, folder: str, tmp_path: Path
) -> None:
    bucket = new_bucket(s3_endpoint, folder=folder)
    store = store_for(bucket)
    assert isinstance(store, UploadStore) and store.checks_sizes
    assert store.size("2026/x.mp4") is None
    (tmp_path / "x.mp4").write_bytes(b"12345")
    assert bucket.upload_from_path(tmp_path / "x.mp4", "2026/x.mp4") == store.key("2026/x.mp4")
    assert store.size("2026/x.mp4") == 5 and store.holds("2026/x.mp4", 5)
    assert not store.holds("2026/x.mp4", 6)


@pytest.mark.usefixtures("private_tmp")
def test_an_s3_upload_streams_from_staging_and_a_rerun_reads_nothing(
    zoom_emulator: ZoomEmulator, s3_endpoint: str, read_bytes_calls: list[Path]
) -> None:
    file_id, file = emulator_mp4(zoom_emulator, 9_000_000)  # above boto3's 8 MiB part size
    bucket = new_bucket(s3_endpoint)
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        result = download_recording(zoom, file, bucket, "m/x.mp4")
        downloads = zoom_emulator.state.counters["downloads"]
        again = download_recording(zoom, file, bucket, "m/x.mp4")
    assert (result.status, result.path, result.size) == ("downloaded", "m/x.mp4", 9_000_000)
    assert object_sizes(bucket) == {"m/x.mp4": 9_000_000}
    uploaded = object_bytes(bucket, "m/x.mp4")
    assert hashlib.sha256(uploaded).hexdigest() == expected_sha(zoom_emulator, file_id)
    assert read_bytes_calls == []  # the staged file was streamed, never read whole
    assert list(staging_root().iterdir()) == []
    assert again.status == "skipped" and again.size == 9_000_000
    assert zoom_emulator.state.counters["downloads"] == downloads


@pytest.mark.usefixtures("private_tmp")
def test_an_upload_the_bucket_does_not_hold_whole_fails_and_keeps_the_staged_copy(
    zoom_emulator: ZoomEmulator, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, file = emulator_mp4(zoom_emulator, 300_000)
    bucket = new_bucket(s3_endpoint)
    real_upload = S3Bucket.upload_from_path

    def cut_short(self: S3Bucket, from_path: Path, to_path: str, **kwargs: Any) -> str:
        short = tmp_path / "short.bin"
        with Path(from_path).open("rb") as staged:
            short.write_bytes(staged.read(1000))
        return str(real_upload(self, short, to_path, **kwargs))

    monkeypatch.setattr(S3Bucket, "upload_from_path", cut_short)
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        with pytest.raises(OSError, match=r"does not hold 300000 bytes under 'zoom/m/x\.mp4'"):
            download_recording(zoom, file, bucket, "m/x.mp4")
        assert len(list(staging_root().rglob("x.mp4"))) == 1  # kept for the next run
        monkeypatch.setattr(S3Bucket, "upload_from_path", real_upload)
        downloads = zoom_emulator.state.counters["downloads"]
        result = download_recording(zoom, file, bucket, "m/x.mp4")
    assert result.status == "resumed" and object_sizes(bucket) == {"m/x.mp4": 300_000}
    assert zoom_emulator.state.counters["downloads"] == downloads  # uploaded from staging


class UploadOnly(WritableFileSystem):
    """A block like prefect-gcp's ``GcsBucket``: ``upload_from_path``, no S3 client."""

    _block_type_slug = "prefect-zoom-test-upload-only"
    folder: str

    async def read_path(self, path: str) -> bytes:
        raise FileNotFoundError(path)

    async def write_path(self, path: str, content: bytes) -> None:
        raise AssertionError("an upload block gets no bytes in memory")

    def upload_from_path(self, from_path: Path, to_path: str) -> str:
        target = Path(self.folder, to_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(from_path, target)
        return to_path


@pytest.mark.usefixtures("private_tmp")
def test_any_block_with_upload_from_path_gets_the_staged_file_streamed(
    zoom_emulator: ZoomEmulator, tmp_path: Path, read_bytes_calls: list[Path]
) -> None:
    file_id, file = emulator_mp4(zoom_emulator, 250_000)
    block = UploadOnly(folder=str(tmp_path / "bucket"))
    store = store_for(block)
    assert isinstance(store, UploadStore) and not store.checks_sizes
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        result = download_recording(zoom, file, block, "m/x.mp4")
    uploaded = tmp_path / "bucket" / "m" / "x.mp4"
    assert result.status == "downloaded" and result.size == uploaded.stat().st_size == 250_000
    assert result.sha256 == expected_sha(zoom_emulator, file_id)
    assert read_bytes_calls == [] and list(staging_root().iterdir()) == []


def test_write_path_is_refused_above_the_limit_before_any_request(
    zoom_emulator: ZoomEmulator,
) -> None:
    _, file = emulator_mp4(zoom_emulator, IN_MEMORY_LIMIT + 1)
    downloads = zoom_emulator.state.counters["downloads"]
    with (
        s2s_credentials(zoom_emulator).get_client() as zoom,
        pytest.raises(ZoomInputError) as refused,
    ):
        download_recording(zoom, file, WritePathOnly(), "m/big.mp4")
    assert refused.value.field == "destination"
    assert "WritePathOnly.write_path" in refused.value.problem
    assert "upload_from_path" in refused.value.fix and "RemoteFileSystem" in refused.value.fix
    assert zoom_emulator.state.counters["downloads"] == downloads
    assert "m/big.mp4" not in WRITTEN


@pytest.mark.usefixtures("private_tmp")
def test_a_file_of_unknown_size_is_refused_once_staged_shows_it_too_large(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch, read_bytes_calls: list[Path]
) -> None:
    monkeypatch.setattr(destinations, "IN_MEMORY_LIMIT", 100_000)
    _, file = emulator_mp4(zoom_emulator, 150_000)
    unsized = file.model_copy(update={"file_size": None})
    with (
        s2s_credentials(zoom_emulator).get_client() as zoom,
        pytest.raises(ZoomInputError, match="150,000-byte file"),
    ):
        download_recording(zoom, unsized, WritePathOnly(), "m/unsized.mp4")
    assert "m/unsized.mp4" not in WRITTEN and read_bytes_calls == []
    assert list(staging_root().iterdir()) == []
