"""The sync client's transport reads the socket 256 KiB at a time, over real HTTP."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any

import httpcore
import pytest
from helpers.connections import s2s_credentials
from httpcore._backends.sync import SyncStream

from prefect_zoom.client._transport import READ_BYTES, LargeReadStream
from prefect_zoom.models.recordings import RecordingFile
from prefect_zoom.transfer import download_to_path
from zoom_emulator import ZoomEmulator


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ``max_bytes`` of every socket read httpcore's sync backend makes."""
    sizes: list[int] = []
    real_read = SyncStream.read

    def spy(self: SyncStream, max_bytes: int, timeout: float | None = None) -> bytes:
        sizes.append(max_bytes)
        return real_read(self, max_bytes, timeout)

    monkeypatch.setattr(SyncStream, "read", spy)
    return sizes


def test_client_reads_256_kib_per_socket_call(
    zoom_emulator: ZoomEmulator, tmp_path: Path, asked: list[int]
) -> None:
    answer = zoom_emulator.control(
        "POST", "recordings", json={"mp4_bytes": 3_000_000, "file_types": ["MP4"]}
    )
    mp4 = answer["files"][0]
    file = RecordingFile(
        id=mp4["id"],
        file_type="MP4",
        file_extension="MP4",
        file_size=mp4["file_size"],
        download_url=f"{zoom_emulator.base_url}/rec/download/{mp4['id']}",
    )
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        zoom.tokens.get_token()  # the token comes through authlib's own client, 64 KiB reads
        asked.clear()
        result = download_to_path(zoom, file, tmp_path / "talk.mp4")
    # httpcore alone asks for 64 KiB per read.
    assert asked and set(asked) == {READ_BYTES}
    landed = hashlib.sha256((tmp_path / "talk.mp4").read_bytes()).hexdigest()
    assert result.sha256 == landed == zoom_emulator.control("GET", f"files/{mp4['id']}")["sha256"]


class RecordingStream(httpcore.NetworkStream):
    """A stand-in socket stream that records what it is asked (a unit corner: TLS upgrade)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.calls.append(("read", max_bytes))
        return b"x"

    def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        """(ssl_context, server_hostname, timeout), as LargeReadStream passes them."""
        self.calls.append(("start_tls", args[1]))
        return self


def test_large_reads_survive_the_tls_upgrade() -> None:
    inner = RecordingStream()
    upgraded = LargeReadStream(inner).start_tls(ssl.create_default_context(), "zoom.us")
    assert isinstance(upgraded, LargeReadStream)
    assert upgraded.read(65_536) == b"x"
    assert upgraded.read(1 << 20) == b"x"  # a caller asking for more still gets its size
    assert inner.calls == [("start_tls", "zoom.us"), ("read", READ_BYTES), ("read", 1 << 20)]
