"""Destinations: safe relative paths, and one adapter per kind of Prefect file system."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import fsspec
import pytest
from helpers.connections import s2s_credentials
from helpers.recordings import emulator_mp4, expected_sha
from prefect.filesystems import LocalFileSystem, RemoteFileSystem, WritableFileSystem

from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.transfer import (
    check_relative_path,
    download_recording,
    partial_path,
    staging_root,
)
from prefect_zoom.transfer.destinations import BlockStore, FsspecStore, LocalFolder, store_for
from zoom_emulator import ZoomEmulator


@pytest.mark.parametrize(
    "bad",
    [
        "C:/Windows/x",
        "c:\\Windows\\x",
        "C:x",
        "\\\\server\\share\\x",
        "//server/share/x",
        "/etc/passwd",
        "a/../../b",
        "",
    ],
)
def test_check_relative_path_refuses_what_leaves_the_destination(bad: str) -> None:
    with pytest.raises(ZoomInputError, match="not a relative path inside the destination"):
        check_relative_path(bad)


def test_check_relative_path_keeps_ordinary_paths() -> None:
    assert check_relative_path("2026-11-30_1_ab/x.mp4") == "2026-11-30_1_ab/x.mp4"
    assert check_relative_path("a\\b.mp4") == "a/b.mp4"


@pytest.mark.usefixtures("private_tmp")
def test_remote_uploads_stage_in_a_private_folder_not_the_old_shared_one(
    zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    _, file = emulator_mp4(zoom_emulator, 200_000)
    block = RemoteFileSystem(basepath=f"memory://zoom-{uuid.uuid4().hex[:8]}")
    remote = block._resolve_path("in/movie.mp4")
    # Where the staging used to be (shared, predictable): a "complete" partial planted there.
    shared = tmp_path / "prefect-zoom-downloads" / hashlib.sha1(remote.encode()).hexdigest()
    shared.mkdir(parents=True)
    planted = tmp_path / "attacker.bin"
    planted.write_bytes(b"X" * 200_000)
    partial_path(shared / "movie.mp4").symlink_to(planted)
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        result = download_recording(zoom, file, block, "in/movie.mp4")
    uploaded = fsspec.filesystem("memory").cat_file(remote)
    assert hashlib.sha256(uploaded).hexdigest() == expected_sha(zoom_emulator, file.id or "")
    assert result.sha256 == expected_sha(zoom_emulator, file.id or "")
    root = staging_root()
    assert root.parent == tmp_path and root.stat().st_mode & 0o777 == 0o700
    assert root.stat().st_uid == os.getuid()


# ---- adapters ----------------------------------------------------------------------------------
class InMemoryBlock(WritableFileSystem):
    """A WritableFileSystem that is neither local nor fsspec: bytes kept in a dict, async API."""

    _block_type_slug = "prefect-zoom-test-in-memory"
    stored: dict[str, bytes] = {}

    async def read_path(self, path: str) -> bytes:
        return self.stored[path]

    async def write_path(self, path: str, content: bytes) -> None:
        self.stored[path] = content


@pytest.mark.parametrize("relative", ["a/b.mp4", "2026-11-30_1_ab/x y#1.mp4", "deep/er/c.vtt"])
def test_a_remote_store_url_is_the_one_prefect_resolves(relative: str) -> None:
    block = RemoteFileSystem(basepath="memory://bucket/zoom/")
    store = store_for(block)
    assert isinstance(store, FsspecStore)
    if "#" not in relative:  # Prefect cuts a URL fragment off; the adapter keeps the name whole
        assert store.url(relative) == block._resolve_path(relative)
    assert store.url(relative) == f"memory://bucket/zoom/{relative}"


def test_each_kind_of_destination_gets_its_adapter(tmp_path: Path) -> None:
    assert isinstance(store_for(str(tmp_path)), LocalFolder)
    local = store_for(LocalFileSystem(basepath=str(tmp_path)))
    assert isinstance(local, LocalFolder) and local.root == tmp_path.resolve() and local.confined
    assert isinstance(store_for(InMemoryBlock()), BlockStore)
    with pytest.raises(ZoomInputError, match="destination"):
        store_for(42)  # type: ignore[arg-type]


def test_a_link_out_of_a_local_file_system_block_is_refused_before_any_request(
    zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    base = tmp_path / "store"
    base.mkdir()
    (base / "zoom").symlink_to(outside)
    _, file = emulator_mp4(zoom_emulator, 10_000)
    downloads = zoom_emulator.state.counters["downloads"]
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        with pytest.raises(ZoomInputError, match="outside the block's basepath"):
            download_recording(zoom, file, LocalFileSystem(basepath=str(base)), "zoom/x.mp4")
        # A plain folder destination follows the user's own links, as before.
        result = download_recording(zoom, file, base, "zoom/x.mp4")
    assert (outside / "x.mp4").is_file() and result.status == "downloaded"
    assert zoom_emulator.state.counters["downloads"] == downloads + 1


@pytest.mark.usefixtures("private_tmp")
def test_another_block_gets_the_bytes_through_write_path_and_staging_is_cleared(
    zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    file_id, file = emulator_mp4(zoom_emulator, 150_000)
    block = InMemoryBlock()
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        result = download_recording(zoom, file, block, "m/x.mp4")
    assert result.path == "m/x.mp4" and result.status == "downloaded"
    assert hashlib.sha256(block.stored["m/x.mp4"]).hexdigest() == expected_sha(
        zoom_emulator, file_id
    )
    assert list(staging_root().iterdir()) == []  # the staged copy went once written
