"""Getting a valid access token for a connection shared by threads, tasks and processes.

:class:`TokenManager` runs the renewal rules of :mod:`prefect_zoom.auth.renewal` (written once,
with no I/O) through two thin shells: :meth:`TokenManager.get_token` does each request the rules
make in the calling thread, :meth:`TokenManager.aget_token` awaits it without blocking the event
loop (the block's load and save and the recovery store's fsync-ed write in a worker thread, with
the sync shell's code). The shells hold no rules of their own: they only load, lock, renew, save
and sleep.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

import anyio.to_thread

from prefect_zoom._sansio import Flow, arun, run
from prefect_zoom.auth import recovery
from prefect_zoom.auth.locks import Watch, aconnection_lock, connection_lock
from prefect_zoom.auth.renewal import (
    FOLLOW_TIMEOUT_SECONDS,
    Follow,
    Load,
    Locked,
    Pause,
    Recovery,
    Renew,
    Renewal,
    Request,
    Save,
    Shielded,
    _Overtaken,
)
from prefect_zoom.auth.tokens import TokenSet

T = TypeVar("T")
_running: set[asyncio.Future[Any]] = set()  # shielded renewals, referenced until they end


def _recovery_io(request: Recovery, key: str | None) -> TokenSet | None:
    """Do a recovery-store request (local files: the same for the sync and async shells)."""
    if key is None:
        return None
    if request.action == "recall":
        return recovery.recovered(key)
    if request.action == "latest":
        return recovery.latest(key)
    assert request.tokens is not None
    if request.action == "record":
        recovery.record(key, request.tokens)
    elif request.action == "abandon":
        recovery.abandon(key, request.tokens)
    else:
        recovery.forget(key, request.tokens)
    return None


def _finished(work: asyncio.Future[Any]) -> None:
    """A shielded renewal ended: drop the reference; its error is the awaiting caller's (if any
    caller still waits), so it is marked retrieved here."""
    _running.discard(work)
    if not work.cancelled():
        work.exception()


def _shielded(work: Callable[[], T]) -> T:
    """Run ``work`` in its own thread and wait for it: an exception thrown into the caller (a
    Prefect task timeout, a cancellation) ends the wait, never ``work`` halfway."""
    outcome: Future[T] = Future()
    context = contextvars.copy_context()  # the caller's Prefect settings and client

    def run() -> None:
        try:
            outcome.set_result(context.run(work))
        except BaseException as exc:
            outcome.set_exception(exc)

    threading.Thread(target=run, name="prefect-zoom-renewal", daemon=True).start()
    return outcome.result()


class TokenStore(Protocol):
    """Where a connection's tokens live between processes (a saved block, or only memory)."""

    @property
    def lock_key(self) -> str:
        """Names the connection for locking: the same for every process using it."""
        ...

    @property
    def recovery_key(self) -> str | None:
        """Names the connection in the local recovery store (``None``: nothing to recover)."""
        ...

    def current_tokens(self) -> TokenSet | None:
        """The tokens this object holds now, without any I/O."""
        ...

    def load_tokens(self) -> TokenSet | None:
        """Reload the stored tokens (``None`` when nothing is stored; async callers run it in a
        worker thread)."""
        ...

    def save_tokens(self, tokens: TokenSet) -> None:
        """Store new tokens so other processes can adopt them (from a worker thread for async
        callers)."""
        ...


class TokenProvider(Protocol):
    """What a Zoom client needs from a connection."""

    def get_token(self) -> str: ...

    async def aget_token(self) -> str: ...

    def on_invalid_token(self, rejected: str) -> None: ...

    async def aon_invalid_token(self, rejected: str) -> None: ...

    @property
    def granted_scopes(self) -> list[str] | None: ...

    @property
    def reconnect_command(self) -> str | None: ...


class TokenManager(ABC):
    """Single-flight token renewal with reload-adopt-renew-save under the connection lock."""

    def __init__(self, store: TokenStore, *, reconnect_command: str | None = None) -> None:
        self._store = store
        self._renewal = Renewal(store, store.current_tokens())
        self._reconnect_command = reconnect_command

    # ---- what subclasses provide -----------------------------------------------------------
    @abstractmethod
    def _renew(self, current: TokenSet | None) -> TokenSet:
        """Get new tokens from Zoom (refresh with ``current``'s refresh token, or a new grant)."""

    @abstractmethod
    async def _arenew(self, current: TokenSet | None) -> TokenSet: ...

    # ---- TokenProvider ---------------------------------------------------------------------
    @property
    def granted_scopes(self) -> list[str] | None:
        tokens = self._renewal.tokens
        return list(tokens.scopes) if tokens is not None and tokens.scopes else None

    @property
    def reconnect_command(self) -> str | None:
        return self._reconnect_command

    @property
    def tokens(self) -> TokenSet | None:
        """The tokens in use now (secrets hidden in their repr)."""
        return self._renewal.tokens

    def note_tokens_read(self) -> None:
        """The store's tokens were read from the block just now: a renewal soon after goes to
        the lock without reading the block once more first."""
        self._renewal.note_read()

    def get_token(self) -> str:
        """A fresh access token; renews (once for all threads and processes) when needed."""
        fresh = self._renewal.usable()
        return fresh if fresh is not None else self._run(self._renewal.token(rejected=None))

    async def aget_token(self) -> str:
        """:meth:`get_token` for async callers."""
        fresh = self._renewal.usable()
        return fresh if fresh is not None else await self._arun(self._renewal.token(None))

    def on_invalid_token(self, rejected: str) -> None:
        """Zoom answered 401 code 124 to ``rejected``: adopt a newer stored token or renew."""
        self._run(self._renewal.token(rejected))

    async def aon_invalid_token(self, rejected: str) -> None:
        """:meth:`on_invalid_token` for async callers."""
        await self._arun(self._renewal.token(rejected))

    def _watch(self, overtaken: Callable[[TokenSet | None], bool] | None) -> Watch:
        """What a wait for the lock runs now and then: it ends the wait (:class:`_Overtaken`)
        once the recovery store holds tokens ``overtaken`` accepts."""
        key = self._store.recovery_key
        if overtaken is None or key is None:
            return None

        def watch() -> None:
            found = recovery.latest(key)
            if found is not None and overtaken(found):
                raise _Overtaken(found)

        return watch

    # ---- the sync shell --------------------------------------------------------------------
    def _run(self, flow: Flow[T]) -> T:
        return run(flow, self._do)

    def _do(self, request: Request) -> Any:
        match request:
            case Follow(flight=flight):
                return flight.result(timeout=FOLLOW_TIMEOUT_SECONDS)
            case Shielded(flow=flow):
                return _shielded(lambda: self._run(flow))
            case Locked(body=body, overtaken=overtaken):
                with connection_lock(self._store.lock_key, self._watch(overtaken)) as lease:
                    return self._run(body(lease))
            case Load():
                return self._store.load_tokens()
            case Save(tokens=tokens):
                return self._store.save_tokens(tokens)
            case Renew(current=current):
                return self._renew(current)
            case Pause(seconds=seconds):
                return time.sleep(seconds)
        return _recovery_io(request, self._store.recovery_key)

    # ---- the async shell -------------------------------------------------------------------
    async def _arun(self, flow: Flow[T]) -> T:
        return await arun(flow, self._ado)

    async def _ado(self, request: Request) -> Any:
        match request:
            case Follow(flight=flight):
                # shielded: a cancelled follower must not cancel the leader's future
                waiting = asyncio.shield(asyncio.wrap_future(flight))
                return await asyncio.wait_for(waiting, FOLLOW_TIMEOUT_SECONDS)
            case Shielded(flow=flow):
                # its own task: cancelling the caller (or a Prefect timeout) ends the wait only
                work = asyncio.ensure_future(self._arun(flow))
                _running.add(work)
                work.add_done_callback(_finished)
                return await asyncio.shield(work)
            case Locked(body=body, overtaken=overtaken):
                async with aconnection_lock(self._store.lock_key, self._watch(overtaken)) as lease:
                    return await self._arun(body(lease))
            case Renew(current=current):
                return await self._arenew(current)
            case Pause(seconds=seconds):
                return await asyncio.sleep(seconds)
            case Load() | Save() | Recovery(action="record"):
                # Blocking work that would stall every other task of the loop: Prefect's client
                # and pydantic (the block's load and save), fsync (the recovery file). The sync
                # shell does it in a worker thread; a cancelled caller leaves a read behind,
                # never a write halfway.
                return await anyio.to_thread.run_sync(
                    self._do, request, abandon_on_cancel=isinstance(request, Load)
                )
        # reading, marking and renaming a small file: cheaper than a hop to a thread and back
        return _recovery_io(request, self._store.recovery_key)


class MemoryTokenStore:
    """A store that keeps tokens in memory only (one process; nothing to reload)."""

    def __init__(self, key: str, tokens: TokenSet | None = None) -> None:
        self._key = key
        self._tokens = tokens

    @property
    def lock_key(self) -> str:
        return self._key

    @property
    def recovery_key(self) -> str | None:
        return None

    def current_tokens(self) -> TokenSet | None:
        return self._tokens

    def load_tokens(self) -> TokenSet | None:
        return self._tokens

    def save_tokens(self, tokens: TokenSet) -> None:
        self._tokens = tokens


class StaticToken:
    """A fixed access token (tests, or a token obtained elsewhere): never renewed."""

    def __init__(self, access_token: str, scopes: list[str] | None = None) -> None:
        self._token = access_token
        self._scopes = scopes

    def __repr__(self) -> str:
        return "StaticToken(access_token='**********')"

    def get_token(self) -> str:
        return self._token

    async def aget_token(self) -> str:
        return self._token

    def on_invalid_token(self, rejected: str) -> None:
        """Nothing to renew: the client gives up and raises."""

    async def aon_invalid_token(self, rejected: str) -> None:
        """Nothing to renew: the client gives up and raises."""

    @property
    def granted_scopes(self) -> list[str] | None:
        return self._scopes

    @property
    def reconnect_command(self) -> str | None:
        return None
