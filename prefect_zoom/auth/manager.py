"""Getting a valid access token for a connection shared by threads, tasks and processes.

The rule, for both kinds of connection:

1. if the token in memory is fresh, use it;
2. otherwise reload the stored connection and adopt its token when it is fresh and not the one
   Zoom just rejected (another thread or process renewed it already);
3. otherwise take the connection's lock, reload and check again, and renew it (refresh, or a new account-credentials grant) and **save it before using
   it**: a rotated refresh token that is not saved is a lost connection.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future
from typing import Protocol

from prefect_zoom.auth.locks import aconnection_lock, connection_lock
from prefect_zoom.auth.tokens import TokenSet

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = 3
FOLLOW_TIMEOUT_SECONDS = 300.0


class TokenStore(Protocol):
    """Where a connection's tokens live between processes (a saved block, or only memory)."""

    @property
    def lock_key(self) -> str:
        """Names the connection for locking: the same for every process using it."""
        ...

    def current_tokens(self) -> TokenSet | None:
        """The tokens this object holds now, without any I/O."""
        ...

    def load_tokens(self) -> TokenSet | None:
        """Reload the stored tokens (``None`` when nothing is stored)."""
        ...

    async def aload_tokens(self) -> TokenSet | None: ...

    def save_tokens(self, tokens: TokenSet) -> None:
        """Store new tokens so other processes can adopt them."""
        ...

    async def asave_tokens(self, tokens: TokenSet) -> None: ...


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
        self._tokens: TokenSet | None = store.current_tokens()
        self._unsaved = False
        self._reconnect_command = reconnect_command
        self._guard = threading.Lock()  # never held across I/O
        self._flight: Future[None] | None = None

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_guard", None)
        state["_flight"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._guard = threading.Lock()

    # ---- what subclasses provide -----------------------------------------------------------
    @abstractmethod
    def _renew(self, current: TokenSet | None) -> TokenSet:
        """Get new tokens from Zoom (refresh with ``current``'s refresh token, or a new grant)."""

    @abstractmethod
    async def _arenew(self, current: TokenSet | None) -> TokenSet: ...

    # ---- TokenProvider ---------------------------------------------------------------------
    @property
    def granted_scopes(self) -> list[str] | None:
        tokens = self._tokens
        return list(tokens.scopes) if tokens is not None and tokens.scopes else None

    @property
    def reconnect_command(self) -> str | None:
        return self._reconnect_command

    @property
    def tokens(self) -> TokenSet | None:
        """The tokens in use now (secrets hidden in their repr)."""
        return self._tokens

    def get_token(self) -> str:
        """A fresh access token; renews (once for all threads and processes) when needed."""
        tokens = self._tokens
        if tokens is not None and tokens.usable():
            return tokens.access_token.get_secret_value()
        return self._ensure(rejected=None)

    async def aget_token(self) -> str:
        """Async twin of :meth:`get_token`."""
        tokens = self._tokens
        if tokens is not None and tokens.usable():
            return tokens.access_token.get_secret_value()
        return await self._aensure(rejected=None)

    def on_invalid_token(self, rejected: str) -> None:
        """Zoom answered 401 code 124 to ``rejected``: adopt a newer stored token or renew."""
        self._ensure(rejected=rejected)

    async def aon_invalid_token(self, rejected: str) -> None:
        """Async twin of :meth:`on_invalid_token`."""
        await self._aensure(rejected=rejected)

    # ---- the critical section --------------------------------------------------------------
    def _adoptable(self, rejected: str | None) -> str | None:
        tokens = self._tokens
        if tokens is not None and tokens.usable(rejected=rejected):
            return tokens.access_token.get_secret_value()
        return None

    def _adopt(self, stored: TokenSet | None) -> None:
        if stored is not None and not self._unsaved:
            self._tokens = stored

    def _join_or_lead(self, rejected: str | None) -> tuple[str | None, Future[None] | None, bool]:
        """A usable token; or the renewal in flight to wait for; or a new flight to lead."""
        with self._guard:
            if (token := self._adoptable(rejected)) is not None:
                return token, None, False
            if self._flight is not None:
                return None, self._flight, False
            self._flight = Future()
            return None, self._flight, True

    def _land(self, flight: Future[None], error: BaseException | None) -> None:
        with self._guard:
            self._flight = None
        if flight.done():
            return
        if isinstance(error, Exception):
            flight.set_exception(error)  # followers see the same failure (e.g. invalid_grant)
        else:
            flight.set_result(None)  # success, or a cancelled leader: followers look again

    def _ensure(self, rejected: str | None) -> str:
        # In this process one caller leads the renewal and the others wait for its outcome
        # (waiting on a future wakes them all: no lock to starve on).
        while True:
            token, flight, lead = self._join_or_lead(rejected)
            if token is not None:
                return token
            assert flight is not None
            if not lead:
                flight.result(timeout=FOLLOW_TIMEOUT_SECONDS)
                continue
            error: BaseException | None = None
            try:
                return self._lead(rejected)
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._land(flight, error)

    async def _aensure(self, rejected: str | None) -> str:
        while True:
            token, flight, lead = self._join_or_lead(rejected)
            if token is not None:
                return token
            assert flight is not None
            if not lead:
                # shielded: a cancelled follower must not cancel the leader's future
                await asyncio.wait_for(
                    asyncio.shield(asyncio.wrap_future(flight)), FOLLOW_TIMEOUT_SECONDS
                )
                continue
            error: BaseException | None = None
            try:
                return await self._alead(rejected)
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._land(flight, error)

    def _lead(self, rejected: str | None) -> str:
        # Adopting needs no lock (saves are atomic): only a caller that must renew takes it.
        if not self._unsaved:
            self._adopt(self._store.load_tokens())
            if (token := self._adoptable(rejected)) is not None:
                return token
        with connection_lock(self._store.lock_key):
            if self._unsaved:
                self._save(self._tokens)
            self._adopt(self._store.load_tokens())
            if (token := self._adoptable(rejected)) is not None:
                logger.debug("Adopted the stored Zoom token of %s", self._store.lock_key)
                return token
            fresh = self._renew(self._tokens)
            self._tokens, self._unsaved = fresh, True
            self._save(fresh)
            return fresh.access_token.get_secret_value()

    async def _alead(self, rejected: str | None) -> str:
        if not self._unsaved:
            self._adopt(await self._store.aload_tokens())
            if (token := self._adoptable(rejected)) is not None:
                return token
        async with aconnection_lock(self._store.lock_key):
            if self._unsaved:
                await self._asave(self._tokens)
            self._adopt(await self._store.aload_tokens())
            if (token := self._adoptable(rejected)) is not None:
                logger.debug("Adopted the stored Zoom token of %s", self._store.lock_key)
                return token
            fresh = await self._arenew(self._tokens)
            self._tokens, self._unsaved = fresh, True
            await self._asave(fresh)
            return fresh.access_token.get_secret_value()

    def _log_save_failure(self, attempt: int) -> None:
        """Log a failed save of renewed tokens (called inside its ``except``)."""
        logger.exception(
            "Could not save the renewed Zoom tokens of %s (attempt %d of %d)",
            self._store.lock_key,
            attempt,
            SAVE_ATTEMPTS,
        )

    def _save(self, tokens: TokenSet | None) -> None:
        if tokens is None:
            return
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                self._store.save_tokens(tokens)
            except Exception:
                self._log_save_failure(attempt)
                if attempt == SAVE_ATTEMPTS:
                    raise
            else:
                self._unsaved = False
                return

    async def _asave(self, tokens: TokenSet | None) -> None:
        if tokens is None:
            return
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                await self._store.asave_tokens(tokens)
            except Exception:
                self._log_save_failure(attempt)
                if attempt == SAVE_ATTEMPTS:
                    raise
            else:
                self._unsaved = False
                return


class MemoryTokenStore:
    """A store that keeps tokens in memory only (one process; nothing to reload)."""

    def __init__(self, key: str, tokens: TokenSet | None = None) -> None:
        self._key = key
        self._tokens = tokens

    @property
    def lock_key(self) -> str:
        return self._key

    def current_tokens(self) -> TokenSet | None:
        return self._tokens

    def load_tokens(self) -> TokenSet | None:
        return self._tokens

    async def aload_tokens(self) -> TokenSet | None:
        return self._tokens

    def save_tokens(self, tokens: TokenSet) -> None:
        self._tokens = tokens

    async def asave_tokens(self, tokens: TokenSet) -> None:
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
