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
import httpx
import pytest
from helpers.connections import s2s_credentials
from httpcore._backends.anyio import AnyIOStream
from httpcore._backends.sync import SyncStream

from prefect_zoom.client._transport import (
    READ_BYTES,
    IdleCheckStream,
    LargeReadStream,
    http_transport,
    socket_readable,
)
from prefect_zoom.models.recordings import RecordingFile
from prefect_zoom.transfer import download_to_path
from zoom_emulator import ZoomEmulator


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, int]]:
    """The peer and ``max_bytes`` of every socket read httpcore's sync backend makes."""
    sizes: list[tuple[Any, int]] = []
    real_read = SyncStream.read

    def spy(self: SyncStream, max_bytes: int, timeout: float | None = None) -> bytes:
        sizes.append((self.get_extra_info("server_addr"), max_bytes))
        return real_read(self, max_bytes, timeout)

    monkeypatch.setattr(SyncStream, "read", spy)
    return sizes


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


# ---- the sync client: the socket itself, its timeout set when it changes ------------------------
@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, int]]:
    """The peer and the size asked of every ``recv`` on a socket of this process (the emulator's
    server, in this process too, reads with its own sizes)."""
    sizes: list[tuple[Any, int]] = []
    real = socket.socket.recv

    def spy(self: socket.socket, size: int, *flags: int) -> bytes:
        sizes.append((self.getpeername(), size))
        return real(self, size, *flags)

    monkeypatch.setattr(socket.socket, "recv", spy)
    return sizes


@pytest.fixture
def timeouts_set(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, float | None]]:
    """The peer (``None`` before it connects) and value of every ``settimeout`` on a socket of
    this process (httpcore sets one per read and write)."""
    values: list[tuple[Any, float | None]] = []
    real = socket.socket.settimeout

    def spy(self: socket.socket, value: float | None) -> None:
        try:
            peer = self.getpeername()
        except OSError:
            peer = None
        values.append((peer, value))
        real(self, value)

    monkeypatch.setattr(socket.socket, "settimeout", spy)
    return values


def test_a_download_reads_the_socket_256_kib_at_a_time_and_sets_its_timeout_once(
    zoom_emulator: ZoomEmulator,
    tmp_path: Path,
    asked: list[tuple[Any, int]],
    received: list[tuple[Any, int]],
    timeouts_set: list[tuple[Any, float | None]],
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
        received.clear()
        timeouts_set.clear()
        result = download_to_path(zoom, file, tmp_path / "talk.mp4")
    port = httpx.URL(zoom_emulator.base_url).port
    ours = [size for peer, size in received if peer[1:2] == (port,)]  # the client's end
    through_httpcore = [size for peer, size in asked if peer[1:2] == (port,)]
    timeouts = [value for peer, value in timeouts_set if peer and peer[1:2] == (port,)]
    landed = hashlib.sha256((tmp_path / "talk.mp4").read_bytes()).hexdigest()
    assert result.sha256 == landed == zoom_emulator.control("GET", f"files/{mp4['id']}")["sha256"]
    # httpcore alone asks for 64 KiB per read, through its stream, setting the timeout each time
    assert len(ours) >= 12 and set(ours) == {READ_BYTES}  # 3 MB, two answers' headers
    assert through_httpcore == []  # the socket itself is read (Prefect's API clients: theirs)
    # one connection (the redirect stays on it), connected: its timeout set once for its calls
    assert timeouts == [30.0], timeouts_set


@pytest.fixture
def silent_server() -> Any:
    """A loopback address that accepts connections (the kernel does) and never reads or answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_silent_server_still_times_out_reads_and_writes(silent_server: str) -> None:
    timeout = httpx.Timeout(0.5)
    with httpx.Client(transport=http_transport(ssl.create_default_context())) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(f"{silent_server}/never", timeout=timeout)
        with pytest.raises(httpx.WriteTimeout):  # more than the socket buffers hold
            client.post(f"{silent_server}/never", content=b"x" * 64_000_000, timeout=timeout)


class _TLSServer:
    """An HTTPS server on loopback (a self-signed certificate made here): ``/file`` answers 1 MB,
    ``/stall`` waits until the test ends."""

    body = bytes(range(256)) * 4096

    def __init__(self, folder: Path) -> None:
        import datetime
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256())
        )
        self.cert_file = folder / "cert.pem"
        key_file = folder / "key.pem"
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.release = threading.Event()
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path == "/stall":
                    server_self.release.wait(30)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(server_self.body)))
                self.end_headers()
                self.wfile.write(server_self.body)

            def log_message(self, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, key_file)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://localhost:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def test_over_tls_the_socket_is_read_directly_and_timeouts_still_fire(
    tmp_path: Path, asked: list[tuple[Any, int]]
) -> None:
    server = _TLSServer(tmp_path)
    try:
        trusted = ssl.create_default_context(cafile=str(server.cert_file))
        with httpx.Client(transport=http_transport(trusted)) as client:
            with client.stream("GET", f"{server.url}/file") as answer:
                stream = answer.extensions["network_stream"]
                assert isinstance(stream, LargeReadStream)
                assert isinstance(stream.get_extra_info("socket"), ssl.SSLSocket)
                assert answer.read() == server.body
            port = server.httpd.server_address[1]
            assert [size for peer, size in asked if peer[1:2] == (port,)] == []  # not httpcore's
            with pytest.raises(httpx.ReadTimeout):
                client.get(f"{server.url}/stall", timeout=httpx.Timeout(0.5))
    finally:
        server.close()
