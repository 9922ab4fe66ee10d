"""One connection per saved block name and process: its block, token manager and HTTP pool.

A task given a block *name* gets its client from :data:`CONNECTIONS`: the first call in a process
loads the block (one load however many callers arrive at once; the others wait for it) and keeps
it with its token manager and one ``httpx`` connection pool; later calls reuse them, so every
task of the process shares one token (renewed once, under the rules of
:mod:`prefect_zoom.auth.renewal`) and one pool.

The stored block is read again (*revalidated*) when Zoom rejects the connection's token and once
``REVALIDATE_SECONDS`` have passed, so edits made in the Prefect UI apply: when anything but the
tokens changed (a new client secret, another account, another base URL), a new entry replaces the
old one, whose pool closes once the last client lent from it is closed. Token fields are not
compared: other processes save new tokens all the time, and the token manager adopts them.

The account whose rate budget and daily caps the connection's requests spend
(:mod:`prefect_zoom.client.budget`) is the block's own (Server-to-Server) or, for an OAuth
connection, learned once per entry from Zoom's ``GET /users/me`` (its ``account_id``), when the
first request that spends the budget is about to be sent; when Zoom refuses that call, the
connection's own key stands in (:func:`connection_key`) and one warning says so (when the call
failed instead, a 5xx or no answer, Zoom is asked again after ``ACCOUNT_RETRY_SECONDS``).

Sync clients share the entry's pool; an async client gets a pool of its own (an
``httpx.AsyncClient`` belongs to one event loop) on the shared token manager. A forked child
starts with an empty registry (its parent's pools are not its own).
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias

import anyio.to_thread
import httpx
from pydantic import ValidationError

from prefect_zoom.auth.manager import TokenManager
from prefect_zoom.blocks import ZoomOAuthCredentials, ZoomServerToServerCredentials
from prefect_zoom.client import AsyncZoomClient, ZoomClient
from prefect_zoom.client._base import ConnectionAccount
from prefect_zoom.exceptions import ZoomInputError

logger = logging.getLogger(__name__)

ZoomCredentials: TypeAlias = ZoomOAuthCredentials | ZoomServerToServerCredentials

REVALIDATE_SECONDS = 30.0
"""How long a connection served by name is used before its stored block is read again: an edit
made in the Prefect UI applies within this time (at once when Zoom rejects the token)."""

ACCOUNT_RETRY_SECONDS = 60.0
"""After Zoom failed to answer ``GET /users/me`` (5xx, 429, no answer), the connection's own key
stands in for this long, then the account is asked again. A refusal (4xx) is final for the entry."""

TOKEN_FIELDS = frozenset({"access_token", "refresh_token", "expires_at", "issued_at", "scopes"})
"""Block fields the token manager keeps up to date: a change in them is no edit of the
connection."""

_KINDS: tuple[type[ZoomCredentials], ...] = (ZoomOAuthCredentials, ZoomServerToServerCredentials)
"""The kinds of saved connection, in order of preference for a name saved as both."""
_KIND_OF: dict[str, type[ZoomCredentials]] = {}
"""Which block type each name loaded as in this process (tried first next time)."""


def load_saved(name: str) -> ZoomCredentials:
    """The saved block named ``name`` (OAuth or Server-to-Server), read from the Prefect API.

    A name this process has not loaded yet is asked for as both kinds at once (a cold process
    waits one Prefect API round trip, not two); later loads ask for the kind it was first. A
    name saved as both kinds is the OAuth block.
    """
    known = _KIND_OF.get(name)
    found: Iterable[tuple[type[ZoomCredentials], ZoomCredentials | None]]
    if known is None:
        with ThreadPoolExecutor(len(_KINDS), thread_name_prefix="zoom-load") as pool:
            answers = [
                pool.submit(contextvars.copy_context().run, _load_as, kind, name) for kind in _KINDS
            ]
        # in order of preference: a name saved as both kinds is the OAuth one, whatever the other
        found = ((kind, answer.result()) for kind, answer in zip(_KINDS, answers, strict=True))
    else:  # the kind it was first, then the other (saved again as that), one at a time
        others = [kind for kind in _KINDS if kind is not known]
        found = ((kind, _load_as(kind, name)) for kind in (known, *others))
    for kind, loaded in found:
        if loaded is not None:
            _KIND_OF[name] = kind
            return loaded
    raise ZoomInputError(
        "credentials",
        f"no Zoom credentials block named {name!r}",
        "Create one with `prefect-zoom connect oauth --block NAME ...` or "
        "`prefect-zoom connect s2s --block NAME ...`, or check the name in the Prefect UI.",
    )


def _load_as(block_type: type[ZoomCredentials], name: str) -> ZoomCredentials | None:
    """The saved block of this kind named ``name``; ``None`` when there is none."""
    try:
        # _sync: a block, not a coroutine, even when called in an async flow's body.
        loaded: ZoomCredentials = block_type.load(name, validate=True, _sync=True)  # type: ignore[assignment,call-arg]
    except ValueError:
        return None
    except RuntimeError as error:  # Prefect wraps the block's validation error
        if not isinstance(error.__cause__, ValidationError):
            raise
        problems = "; ".join(
            str(e["msg"]).removeprefix("Value error, ") for e in error.__cause__.errors()
        )
        raise ZoomInputError(
            "credentials",
            f"the saved block {name!r} is not valid ({problems})",
            "Correct that field in the Prefect UI, or create the connection again with "
            "`prefect-zoom connect ...`",
        ) from None
    return loaded


def settings_of(block: ZoomCredentials) -> dict[str, Any]:
    """What a connection is, apart from its tokens: its type and every other field (secrets
    compare by value and are never shown)."""
    fields = {k: getattr(block, k) for k in type(block).model_fields if k not in TOKEN_FIELDS}
    return {"type": type(block), **fields}


def connection_key(name: str, block: ZoomCredentials) -> str:
    """A stable stand-in for the account of a saved connection whose account Zoom did not tell:
    a hash of the block's type, name, client id and API URL (no secret), the same in every
    process, so the workers using that block still share one budget."""
    identity = "|".join([block.get_block_type_slug(), name, block.client_id, block.api_base_url])
    return "connection-" + hashlib.sha256(identity.encode()).hexdigest()[:16]


class _LentClient(ZoomClient):
    """A sync client on a connection's shared pool: closing it gives the pool back."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._returned = False
        super().__init__(
            connection.block.api_base_url, connection, **connection.settings_of_clients()
        )

    def _open(self, kwargs: dict[str, Any], transport: httpx.BaseTransport | None) -> httpx.Client:
        return self._connection.pool

    def close(self) -> None:
        if not self._returned:
            self._returned = True
            self._connection.give_back()


class Connection:
    """A saved connection in this process; also the token provider of the clients it lends.

    Its clients ask the newest entry of the name for tokens (:meth:`current`): after an edit
    replaced this entry, a request under way continues with the new connection's token.
    """

    def __init__(self, registry: ConnectionRegistry, name: str, block: ZoomCredentials) -> None:
        self.name = name
        self.block = block
        self.settings = settings_of(block)
        self.manager: TokenManager = block.token_manager()
        self.manager.note_tokens_read()  # the registry loaded the block a moment ago
        self.checked_at = registry.clock()
        self.successor: Connection | None = None
        self._retired = False
        self._registry = registry
        self._guard = threading.Lock()
        self._lent = 0
        known = block.budget_account_id()
        self._account = ConnectionAccount(known) if known else None
        self._account_guard = threading.Lock()
        self._account_retry_at: float | None = None
        # holds the shared pool; asks Zoom for the account with no budget of its own
        self._owner = ZoomClient(block.api_base_url, self)

    def __repr__(self) -> str:
        return f"Connection(name={self.name!r}, type={type(self.block).__name__})"

    @property
    def pool(self) -> httpx.Client:
        """The ``httpx`` client (connection pool) the lent sync clients share."""
        return self._owner._http

    def current(self) -> Connection:
        """This entry, or the one that replaced it after an edit."""
        entry = self
        while entry.successor is not None:
            entry = entry.successor
        return entry

    # ---- the account -----------------------------------------------------------------------------
    def account(self) -> ConnectionAccount:
        """The Zoom account this connection's requests count against: the block's, else
        ``account_id`` of ``GET /users/me`` (with the user's ``id``, what ``me`` names), asked
        once (concurrent callers wait for the one answer), else :func:`connection_key` with one
        warning: for good when Zoom refused the call, for :data:`ACCOUNT_RETRY_SECONDS` when it
        failed (a server error or no answer), then Zoom is asked again."""
        with self._account_guard:
            due = (
                self._account_retry_at is not None
                and self._registry.clock() >= self._account_retry_at
            )
            if self._account is None or due:
                self._account = self._ask_account()
            return self._account

    def _ask_account(self) -> ConnectionAccount:
        retrying = self._account_retry_at is not None
        self._account_retry_at = None
        try:
            me = self._owner.get_json("/users/me", operation="get_user")
            data = me if isinstance(me, dict) else {}
            if data.get("account_id"):
                return ConnectionAccount(str(data["account_id"]), str(data.get("id") or "") or None)
            problem = "its answer has no account_id"
        except Exception as exc:  # refused (scope, 4xx) or failed: pace by the connection
            status = getattr(exc, "status", None)
            problem = f"{type(exc).__name__} {status}" if status else type(exc).__name__
            if status is None or status == 429 or status >= 500:
                self._account_retry_at = self._registry.clock() + ACCOUNT_RETRY_SECONDS
        if not retrying:
            again = (
                f" Zoom is asked again in {ACCOUNT_RETRY_SECONDS:.0f} s."
                if self._account_retry_at is not None
                else ""
            )
            logger.warning(
                "Could not learn the Zoom account of connection %r from GET /users/me (%s): its "
                "requests share a rate budget and daily counts of their own (every worker using "
                "this block shares them, other connections to the account do not).%s",
                self.name,
                problem,
                again,
            )
        return ConnectionAccount(connection_key(self.name, self.block))

    def settings_of_clients(self, *, ask: bool = True) -> dict[str, Any]:
        """What this connection's clients are given: its plan, and its account (looked up on
        first need, see :meth:`account`; with ``ask=False`` only when already known)."""
        settings = self.block.client_settings({})
        if settings.get("account_id") is None and (ask or self._account is not None):
            settings["account_lookup"] = self.account
        return settings

    # ---- clients -------------------------------------------------------------------------------
    def client(self) -> ZoomClient:
        """A sync client on the shared pool (close it, or use it in a ``with``)."""
        with self._guard:
            self._lent += 1
        return _LentClient(self)

    def async_client(self) -> AsyncZoomClient:
        """An async client with a pool of its own for the running event loop, on the shared
        token manager (use it in an ``async with``). It spends the account's budget once a sync
        client of the connection learned the account: the lookup is a blocking request, which
        an event loop must not wait for."""
        settings = self.settings_of_clients(ask=False)
        return AsyncZoomClient(self.block.api_base_url, self, **settings)

    def give_back(self) -> None:
        """A lent client was closed: close the pool when it was the last of a retired entry."""
        with self._guard:
            self._lent -= 1
            idle = self._lent == 0 and self._retired
        if idle:
            self._owner.close()

    def retire(self, successor: Connection | None = None) -> None:
        """An edit replaced this entry (by ``successor``), or the registry forgot it: its pool
        closes now, or when its last lent client is closed."""
        with self._guard:
            self.successor, self._retired = successor, True
            idle = self._lent == 0
        if idle:
            self._owner.close()

    # ---- TokenProvider -------------------------------------------------------------------------
    def get_token(self) -> str:
        return self.current().manager.get_token()

    async def aget_token(self) -> str:
        return await self.current().manager.aget_token()

    def on_invalid_token(self, rejected: str) -> None:
        """Zoom rejected ``rejected``: read the stored block again, then adopt or renew."""
        self._registry.revalidate(self.name)
        self.current().manager.on_invalid_token(rejected)

    async def aon_invalid_token(self, rejected: str) -> None:
        await anyio.to_thread.run_sync(self._registry.revalidate, self.name)
        await self.current().manager.aon_invalid_token(rejected)

    @property
    def granted_scopes(self) -> list[str] | None:
        return self.current().manager.granted_scopes

    @property
    def reconnect_command(self) -> str | None:
        return self.current().manager.reconnect_command


class ConnectionRegistry:
    """Connections by block name, created once per name and process, revalidated as described
    in the module's docstring. Thread-safe; ``load`` and ``clock`` are injectable for tests."""

    def __init__(
        self,
        load: Callable[[str], ZoomCredentials] = load_saved,
        clock: Callable[[], float] = time.monotonic,
        revalidate_seconds: float = REVALIDATE_SECONDS,
    ) -> None:
        self.load = load
        self.clock = clock
        self.revalidate_seconds = revalidate_seconds
        self._guard = threading.Lock()
        self._entries: dict[str, Connection] = {}
        self._loading: dict[str, threading.Lock] = {}
        _registries.add(self)

    def get(self, name: str) -> Connection:
        """The connection named ``name``: loaded on first use, revalidated when due."""
        entry = self._entries.get(name)
        if entry is None:
            return self._settle(name, since=float("-inf"), wait=True)
        if self.clock() - entry.checked_at < self.revalidate_seconds:
            return entry
        # due: one caller reads the block, the others go on with the entry they have meanwhile
        return self._settle(name, since=self.clock() - self.revalidate_seconds, wait=False)

    async def aget(self, name: str) -> Connection:
        """:meth:`get` for async callers (a load runs in a worker thread)."""
        entry = self._entries.get(name)
        if entry is not None and self.clock() - entry.checked_at < self.revalidate_seconds:
            return entry
        return await anyio.to_thread.run_sync(self.get, name)

    def revalidate(self, name: str) -> Connection:
        """Read the stored block now (Zoom rejected a token): once for all callers that ask at
        the same time."""
        return self._settle(name, since=self.clock(), wait=True)

    def clear(self) -> None:
        """Forget every connection (tests; a forked child); pools of this process are closed."""
        with self._guard:
            entries, self._entries, self._loading = self._entries, {}, {}
        for entry in entries.values():
            entry.retire()  # lent clients keep working until closed

    def _forget_inherited(self) -> None:
        """In a forked child: drop the parent's entries without touching their sockets."""
        self._guard = threading.Lock()
        self._entries, self._loading = {}, {}

    def _settle(self, name: str, *, since: float, wait: bool) -> Connection:
        """The entry of ``name`` checked after ``since``: reload the block unless another caller
        just did (``wait=False``: when another caller is reading it, take the current entry)."""
        with self._guard:
            loading = self._loading.setdefault(name, threading.Lock())
        if not loading.acquire(blocking=wait):
            current = self._entries.get(name)
            if current is not None:
                return current
            loading.acquire()
        try:
            current = self._entries.get(name)
            if current is not None and current.checked_at > since:
                return current
            return self._reloaded(name, current)
        finally:
            loading.release()

    def _reloaded(self, name: str, current: Connection | None) -> Connection:
        """Load the block; keep ``current`` when only its tokens differ, else replace it."""
        try:
            block = self.load(name)
        except ZoomInputError:
            with self._guard:
                self._entries.pop(name, None)
            raise
        except Exception as exc:
            if current is None:
                raise
            # The Prefect API is away: the connection in hand still works (its tokens are
            # renewed under their own rules); look again after the interval.
            logger.warning("Could not read Zoom connection %r again: %s", name, exc)
            current.checked_at = self.clock()
            return current
        if current is not None and settings_of(block) == current.settings:
            current.checked_at = self.clock()
            return current
        fresh = Connection(self, name, block)
        with self._guard:
            self._entries[name] = fresh
        if current is not None:
            logger.info("Zoom connection %r was edited: using the new settings", name)
            current.retire(fresh)
        return fresh


_registries: weakref.WeakSet[ConnectionRegistry] = weakref.WeakSet()


def _after_fork() -> None:
    for registry in list(_registries):
        registry._forget_inherited()


os.register_at_fork(after_in_child=_after_fork)

CONNECTIONS = ConnectionRegistry()
"""This process's connections by block name (what the tasks use)."""
