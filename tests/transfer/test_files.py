"""Durable file I/O: fsync on request, block writes, partials never written through a link,
and the private staging folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from helpers.connections import s2s_credentials
from helpers.recordings import emulator_mp4, expected_sha, sha256_of

from prefect_zoom.transfer import (
    TransferOptions,
    download_to_path,
    files,
    partial_path,
    staging_root,
)
from prefect_zoom.transfer.files import DIRECT_PIECE, BlockWriter
from zoom_emulator import ZoomEmulator


@pytest.mark.parametrize("landed_before", [False, True], ids=["new file", "file already there"])
def test_a_durable_download_forces_the_file_and_its_folder_to_disk(
    zoom_emulator: ZoomEmulator, tmp_path: Path, fsynced: list[str], landed_before: bool
) -> None:
    _, file = emulator_mp4(zoom_emulator, 200_000)
    target = tmp_path / "durable.mp4"
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        # An ordinary run first: of this file (landed earlier), or of another one.
        download_to_path(zoom, file, target if landed_before else tmp_path / "plain.mp4")
        assert fsynced == []
        result = download_to_path(zoom, file, target, options=TransferOptions(durable=True))
    assert result.status == ("skipped" if landed_before else "downloaded")
    # A new file is synced as a partial (before it lands), one already there as it is.
    assert fsynced == [str(target if landed_before else partial_path(target)), str(tmp_path)]


@pytest.mark.parametrize("block_size", [1 << 20, 4096], ids=["1 MiB block", "4 KiB block"])
def test_block_writer_keeps_order_and_hash_whatever_the_piece_sizes(
    tmp_path: Path, block_size: int
) -> None:
    sizes = [10, 70_000, DIRECT_PIECE, 5, DIRECT_PIECE * 3, 200_000, 1, 1_048_576, 3, 4095, 4097]
    pieces = [bytes([n % 251]) * size for n, size in enumerate(sizes)]
    digest = hashlib.sha256()
    with (tmp_path / "out").open("wb", buffering=0) as out:
        sink = BlockWriter(out, digest, block_size)
        for piece in pieces:
            sink.write(piece)
        sink.flush()
    whole = b"".join(pieces)
    assert (tmp_path / "out").read_bytes() == whole
    assert digest.hexdigest() == hashlib.sha256(whole).hexdigest()


# ---- partials ---------------------------------------------------------------------------------
@pytest.mark.parametrize("plant", ["symbolic link", "hard link"])
def test_a_partial_that_is_not_a_plain_file_of_ours_is_never_written_through(
    zoom_emulator: ZoomEmulator, tmp_path: Path, plant: str
) -> None:
    file_id, file = emulator_mp4(zoom_emulator, 1_500_000)
    target = tmp_path / "x.mp4"
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"A" * 1_000_000)
    if plant == "symbolic link":
        partial_path(target).symlink_to(victim)
    else:
        os.link(victim, partial_path(target))
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        result = download_to_path(zoom, file, target)
    assert victim.read_bytes() == b"A" * 1_000_000  # not appended to
    assert not target.is_symlink()
    assert result.status == "downloaded"  # started over instead of "resuming" someone's file
    assert result.sha256 == sha256_of(target) == expected_sha(zoom_emulator, file_id)


# ---- staging ----------------------------------------------------------------------------------
@pytest.mark.usefixtures("private_tmp")
def test_a_staging_folder_someone_else_made_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "open"
    elsewhere.mkdir(mode=0o777)
    (tmp_path / f"prefect-zoom-downloads-{os.getuid()}").symlink_to(elsewhere)
    root = staging_root()
    assert root.parent == tmp_path and not root.is_symlink() and root != elsewhere
    assert root.stat().st_mode & 0o777 == 0o700
    # A folder of this user that others may enter is refused too.
    monkeypatch.setattr(files, "_staging", None)
    (tmp_path / f"prefect-zoom-downloads-{os.getuid()}").unlink()
    (tmp_path / f"prefect-zoom-downloads-{os.getuid()}").mkdir()
    os.chmod(tmp_path / f"prefect-zoom-downloads-{os.getuid()}", 0o755)
    assert staging_root().name != f"prefect-zoom-downloads-{os.getuid()}"
