"""The synchronous client's transport: httpx's own, reading the socket 256 KiB at a time.

httpcore asks the socket for at most 64 KiB per read. A download thread then releases and takes
back the GIL (and polls the socket) once per 64 KiB; with several files downloading at once the
threads spend much of their time handing the GIL to each other. Reading up to 256 KiB per call
(what an asyncio transport reads) makes a quarter of those calls, which speeds up several large
downloads at once and leaves small files as fast as before (``benchmarks/`` measures it). Larger reads cost more than they save for small files (each read allocates its
full size). Over TLS a read returns one TLS record (16 KiB) at most, whatever is asked.

The async client keeps httpx's own transport: its downloads share one thread and one event loop,
so there is no GIL to hand over between reads (its loop reads up to 256 KiB per call already).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

READ_BYTES = 256 * 1024


class LargeReadStream(httpcore.NetworkStream):
    """A network stream that asks the socket for at least ``READ_BYTES`` per read."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max(max_bytes, READ_BYTES), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return LargeReadStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class LargeReadBackend(httpcore.NetworkBackend):
    """httpcore's network backend whose streams are :class:`LargeReadStream`."""

    def __init__(self, backend: httpcore.NetworkBackend | None = None) -> None:
        self._backend = backend or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return LargeReadStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return LargeReadStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def http_transport(verify: ssl.SSLContext) -> httpx.HTTPTransport:
    """httpx's default transport, its connections reading up to ``READ_BYTES`` per call.

    httpx has no option for httpcore's network backend, so the backend of the transport's
    connection pool is wrapped after it is built; should a later httpx build its pool otherwise,
    the transport is returned as httpx made it (``tests/client/test_client_transport.py`` notices).
    """
    transport = httpx.HTTPTransport(verify=verify)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.ConnectionPool) and isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = LargeReadBackend(backend)
    return transport
