"""The clients' transports: httpx's own, with two changes to how httpcore uses its sockets.

The synchronous client reads the socket 256 KiB at a time, and talks to it with fewer calls.
httpcore asks the socket for at most 64 KiB per read. A download thread then releases and takes
back the GIL (and polls the socket) once per 64 KiB; with several files downloading at once the
threads spend much of their time handing the GIL to each other. Reading up to 256 KiB per call
(what an asyncio transport reads) makes a quarter of those calls, which speeds up several large
downloads at once and leaves small files as fast as before (``benchmarks/`` measures it). Larger
reads cost more than they save for small files (each read allocates its full size). Over TLS a
read returns one TLS record (16 KiB) at most, whatever is asked. httpcore also sets the socket's
timeout before every read and write (a system call that releases the GIL too) and maps its
errors through a context manager made per call; the stream over a plain or TLS socket sets the
timeout only when it changes and maps the same errors itself (with the partial files' fewer
calls, 1,000 downloads of 1 MB on 8 threads took about 9 % less time, README "Benchmarks").

The asynchronous client looks up each connection's socket once. Each time httpcore's pool hands
out a connection it asks every idle one whether its socket is readable (the server closed it);
through anyio that is a typed-attribute lookup that builds a mapping per call, a large share of
an async client's CPU with many requests at once (encode/httpx#3215). Its downloads share one
thread and one event loop, so there is no GIL to hand over between reads (its loop reads up to
256 KiB per call already).

httpx has no option for httpcore's network backend, so the backend of a transport's connection
pool is wrapped after it is built; should a later httpx build its pool otherwise, the transport
is returned as httpx made it (``tests/client/test_client_transport.py`` notices).
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpcore
import httpx

READ_BYTES = 256 * 1024
T = TypeVar("T")
_UNSET = object()
_HTTPCORE_SOCKET_STREAM: type[Any] = type(None)
"""httpcore's sync stream over a socket (a private class: should it move, streams are asked)."""
with contextlib.suppress(ImportError):
    from httpcore._backends.sync import SyncStream as _HTTPCORE_SOCKET_STREAM


class LargeReadStream(httpcore.NetworkStream):
    """A network stream that asks the socket for at least ``READ_BYTES`` per read.

    Over httpcore's own socket stream (TCP, or TLS on it) it reads and writes the socket itself,
    as httpcore would (same calls, same errors), setting the socket's timeout only when it
    changes; over any other stream (TLS in TLS, through a proxy) it asks that stream.
    """

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = (
            stream.get_extra_info("socket") if type(stream) is _HTTPCORE_SOCKET_STREAM else None
        )
        self._timeout: object = _UNSET  # the timeout the socket has (none set yet)

    def _set_timeout(self, sock: socket.socket, timeout: float | None) -> None:
        if timeout != self._timeout:
            sock.settimeout(timeout)
            self._timeout = timeout

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        sock = self._socket
        if sock is None:
            return self._stream.read(max(max_bytes, READ_BYTES), timeout)
        try:
            self._set_timeout(sock, timeout)
            return sock.recv(max(max_bytes, READ_BYTES))
        except TimeoutError as exc:  # socket.timeout
            raise httpcore.ReadTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ReadError(exc) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        sock = self._socket
        if sock is None:
            self._stream.write(buffer, timeout)
            return
        try:
            self._set_timeout(sock, timeout)
            while buffer:  # the timeout applies to each send, as in httpcore
                buffer = buffer[sock.send(buffer) :]
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.WriteError(exc) from exc

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # httpcore sets the timeout for the handshake and wraps the socket: a new stream
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


def _with_backend(
    transport: T, pool_type: type[Any], backend_type: type[Any], wrap: Callable[[Any], Any]
) -> T:
    """``transport`` with its connection pool's network backend wrapped by ``wrap``, when httpx
    built the pool as expected (``pool_type`` holding a ``backend_type``); else as it is."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, pool_type) and isinstance(backend, backend_type):
        pool._network_backend = wrap(backend)
    return transport


def http_transport(verify: ssl.SSLContext) -> httpx.HTTPTransport:
    """httpx's default transport, its connections reading up to ``READ_BYTES`` per call."""
    return _with_backend(
        httpx.HTTPTransport(verify=verify),
        httpcore.ConnectionPool,
        httpcore.NetworkBackend,
        LargeReadBackend,
    )


# ---- the asynchronous client ---------------------------------------------------------------------
def socket_readable(sock: socket.socket | None) -> bool:
    """Whether a read would return at once: data, or the end (the server closed the connection).
    A socket that is gone counts as readable, as in httpcore."""
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class IdleCheckStream(httpcore.AsyncNetworkStream):
    """An async network stream that answers httpcore's idle check from its socket, looked up
    once (the same socket after a TLS upgrade)."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return IdleCheckStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return socket_readable(self._socket)
        return self._stream.get_extra_info(info)


class IdleCheckBackend(httpcore.AsyncNetworkBackend):
    """httpcore's async network backend whose streams are :class:`IdleCheckStream`."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return IdleCheckStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(path, timeout, socket_options)
        return IdleCheckStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def async_http_transport(verify: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """httpx's default async transport, its idle checks reading a socket looked up once."""
    return _with_backend(
        httpx.AsyncHTTPTransport(verify=verify),
        httpcore.AsyncConnectionPool,
        httpcore.AsyncNetworkBackend,
        IdleCheckBackend,
    )
