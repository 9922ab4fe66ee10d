"""The clients' transports: the sync one reads the socket 256 KiB at a time, the async one answers
httpcore's idle checks from a socket looked up once; over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
from pathlib import Path
from typing import Any

import httpcore
import pytest
from helpers.connections import s2s_credentials
from httpcore._backends.anyio import AnyIOStream
from httpcore._backends.sync import SyncStream

from prefect_zoom.client._transport import (
    READ_BYTES,
    IdleCheckStream,
    LargeReadStream,
    socket_readable,
)
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


# ---- the async client: idle checks from a socket looked up once ------------------------------
class SocketStream(httpcore.AsyncNetworkStream):
    """A stand-in async stream over one end of a real socket pair, counting lookups (a unit
    corner: the readable check itself)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.asked: list[str] = []

    def get_extra_info(self, info: str) -> Any:
        self.asked.append(info)
        return self.sock if info == "socket" else None


def test_the_idle_check_reads_the_socket_looked_up_once() -> None:
    ours, servers = socket.socketpair()
    with ours, servers:
        inner = SocketStream(ours)
        stream = IdleCheckStream(inner)
        assert [stream.get_extra_info("is_readable") for _ in range(3)] == [False] * 3
        servers.close()  # the server ends an idle connection: the pool must not reuse it
        assert stream.get_extra_info("is_readable") is True
        assert inner.asked == ["socket"]
        assert stream.get_extra_info("server_addr") is None  # anything else: the stream's own
        assert inner.asked == ["socket", "server_addr"]


def test_a_socket_that_is_gone_counts_as_readable() -> None:
    assert socket_readable(None) is True
    closed = socket.socket()
    closed.close()
    assert socket_readable(closed) is True


async def test_the_async_client_answers_idle_checks_itself(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over real HTTP: the pool checks idle connections often, and httpcore's anyio streams are
    asked for their socket once per connection, never for the check (httpx still lets the
    pool's backend be wrapped)."""
    asked: dict[str, list[str]] = {"anyio": [], "ours": []}

    def spy(cls: type[Any], key: str) -> None:
        real = cls.get_extra_info

        def get_extra_info(self: Any, info: str) -> Any:
            asked[key].append(info)
            return real(self, info)

        monkeypatch.setattr(cls, "get_extra_info", get_extra_info)

    spy(AnyIOStream, "anyio")
    spy(IdleCheckStream, "ours")
    async with s2s_credentials(zoom_emulator).get_async_client() as zoom:
        await zoom.tokens.aget_token()  # through the token endpoint's own client
        asked["anyio"].clear()
        for _ in range(3):  # rounds of requests at once: idle connections are checked
            users = await asyncio.gather(
                *(zoom.get_json("/users/me", operation="get_user") for _ in range(10))
            )
            assert {user["email"] for user in users} == {zoom_emulator.config.user_email}
    checks = asked["ours"].count("is_readable")
    assert checks > 10, asked["ours"]
    assert "is_readable" not in asked["anyio"]
    assert 0 < asked["anyio"].count("socket") <= 10  # once per connection opened
