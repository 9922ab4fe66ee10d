"""Getting a valid access token for a connection shared by threads, tasks and processes.

The rule, for both kinds of connection:

1. if the token in memory is fresh and saved, use it;
2. otherwise reload the stored connection and adopt its token when it is fresh and not the one
   Zoom just rejected (another thread or process renewed it already);
3. otherwise take the connection's lock, reconcile the block with this machine's recovery store
   (:mod:`prefect_zoom.auth.recovery`; the newest issue time wins, and a newer recovered token set
   is saved to the block before it is used), check again, and renew (refresh, or a new
   account-credentials grant). The moment Zoom answers, the new tokens go to the recovery store,
   then to the block, retried with backoff while the lock's lease lasts. Renewal and save run
   shielded from cancellation and task timeouts: a rotated refresh token that is not kept is a
   lost connection. The one window left is between Zoom answering and the recovery store write.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol, TypeVar

import httpx
from prefect.exceptions import PrefectException

from prefect_zoom.auth import recovery
from prefect_zoom.auth.locks import (
    LEASE_SECONDS,
    ConnectionLockTimeout,
    Lease,
    aconnection_lock,
    api_trouble_within,
    connection_lock,
    note_api_trouble,
)
from prefect_zoom.auth.tokens import TokenSet
from prefect_zoom.exceptions import ZoomAPIError, ZoomAuthorizeAgainError

logger = logging.getLogger(__name__)

SAVE_PATIENCE_SECONDS = 30.0
"""The longest renewed tokens are retried to the block (and never longer than the lock's lease)."""
SAVE_BACKOFF_MIN_SECONDS = 0.1
SAVE_BACKOFF_MAX_SECONDS = 2.0
RETRY_PAUSE_SECONDS = 0.2
"""Between two tries to take the lock again after a failure under it."""
REFUSED_GRACE_SECONDS = 20.0
"""After Zoom refuses the block's refresh token (``invalid_grant``) shortly after a Prefect API
outage, how long to keep reloading the block for newer tokens before giving up: another machine
may have renewed just as the API went away, and saves them as soon as it takes the lock again."""
OUTAGE_MEMORY_SECONDS = 120.0
"""How recent a Prefect API failure seen by this process must be for a refusal to wait
``REFUSED_GRACE_SECONDS``; without one, a refused refresh (a revoked app) fails at once."""
FOLLOW_TIMEOUT_SECONDS = 300.0
T = TypeVar("T")
_running: set[asyncio.Future[str]] = set()  # shielded renewals, referenced until they end


def reconcile(
    stored: TokenSet | None, recovered: TokenSet | None, unsaved: TokenSet | None
) -> tuple[TokenSet | None, bool]:
    """The connection's newest token set, and whether the block still has to get it.

    ``stored`` is what the block holds, ``recovered`` what this machine's recovery store holds,
    ``unsaved`` renewed tokens in memory whose save has not succeeded yet.
    """
    best = recovery.newest(stored, recovered, unsaved)
    behind = best is not None and (stored is None or best.issued_at > stored.issued_at)
    return best, behind


class _StillRefused(Exception):
    """The block still holds only the token set whose refresh Zoom refused: wait for a newer one."""


def save_delays(patience: float) -> Callable[[int, float], float | None]:
    """Backoff between save attempts: doubling, capped, ``None`` once ``patience`` (or the lease,
    given as the second argument in seconds left) would run out."""
    started = time.monotonic()

    def delay(attempt: int, lease_left: float) -> float | None:
        pause = min(SAVE_BACKOFF_MAX_SECONDS, SAVE_BACKOFF_MIN_SECONDS * 2 ** min(attempt - 1, 8))
        left = min(lease_left, patience - (time.monotonic() - started))
        return pause if pause < left else None

    return delay


def _finished(work: asyncio.Future[str]) -> None:
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
        if tokens is not None and not self._unsaved and tokens.usable():
            return tokens.access_token.get_secret_value()
        return self._ensure(rejected=None)

    async def aget_token(self) -> str:
        """Async twin of :meth:`get_token`."""
        tokens = self._tokens
        if tokens is not None and not self._unsaved and tokens.usable():
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
        if tokens is not None and not self._unsaved and tokens.usable(rejected=rejected):
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

    # ---- what sync and async share (no I/O on the Prefect API) -------------------------------
    def _recovered(self) -> TokenSet | None:
        key = self._store.recovery_key
        return recovery.recovered(key) if key is not None else None

    def _may_adopt_unlocked(self) -> bool:
        """Adopting from the block needs no lock unless a save is still owed (here or on disk)."""
        return not self._unsaved and self._recovered() is None

    def _absorb(self, stored: TokenSet | None) -> bool:
        """Take the newest of block, recovery store and memory; True when the block is behind."""
        best, behind = reconcile(stored, self._recovered(), self._tokens if self._unsaved else None)
        if best is not None:
            self._tokens, self._unsaved = best, behind
            if not behind:
                self._saved(best)  # a recovery file the block caught up with goes
        return behind

    def _check_lease(self, lease: Lease) -> None:
        """Never renew on a lease about to run out: the lock may be another process's by then."""
        if lease.remaining() < LEASE_SECONDS / 2:
            raise ConnectionLockTimeout(
                self._store.lock_key, 0, "its lease ran out before the renewal (Prefect API away?)"
            )

    def _keep(self, fresh: TokenSet) -> None:
        """Zoom answered: hold the new tokens and put them on disk before anything else."""
        self._tokens, self._unsaved = fresh, True
        key = self._store.recovery_key
        if key is None:
            return
        try:
            recovery.record(key, fresh)
        except OSError as exc:  # the block save below is then the only way to keep them
            logger.error(
                "Could not write the recovery file of %s (%s); saving to the block only",
                self._store.lock_key,
                exc,
            )

    def _saved(self, tokens: TokenSet) -> None:
        self._unsaved = False
        key = self._store.recovery_key
        if key is not None:
            recovery.forget(key, tokens)

    def _save_failed(self, attempt: int, exc: Exception, giving_up: bool) -> None:
        """Log a failed save of renewed tokens (never the tokens themselves)."""
        note_api_trouble()
        logger.warning(
            "Could not save the renewed Zoom tokens of %s (attempt %d%s): %s: %s",
            self._store.lock_key,
            attempt,
            "; giving up, they stay in the recovery store and are saved by the next renewal"
            if giving_up
            else "; retrying",
            type(exc).__name__,
            exc,
        )

    def _keep_trying(self, started: float, error: Exception) -> bool:
        """After a failure under the lock, take it again (within ``SAVE_PATIENCE_SECONDS``) when
        renewed tokens are still unsaved, or the Prefect API went away: wait, don't fail."""
        prefect_away = isinstance(error, (httpx.HTTPError, OSError, PrefectException))
        if prefect_away:
            note_api_trouble()
        return (self._unsaved or prefect_away) and (
            time.monotonic() - started < SAVE_PATIENCE_SECONDS
        )

    def _refused(self, error: ZoomAPIError) -> TokenSet | None:
        """The token set whose refresh Zoom just refused, when a newer one may still come.

        After a Prefect API outage, another machine can hold a refresh it could not save (it
        renewed just as the API went away; its recovery store is its own): Zoom refuses the
        block's rotated-out refresh token until that machine saves. So a refusal soon after this
        process saw the API fail waits for the block to move on (``REFUSED_GRACE_SECONDS``)
        instead of failing at once; any other refusal (a revoked app) fails at once.
        """
        tokens = self._tokens
        if (
            isinstance(error, ZoomAuthorizeAgainError)
            and tokens is not None
            and tokens.refresh_token is not None
            and self._store.recovery_key is not None
            and api_trouble_within(OUTAGE_MEMORY_SECONDS)
        ):
            logger.warning(
                "Zoom refused the stored refresh token of %s; waiting up to %.0f s for a newer "
                "one another machine may still save",
                self._store.lock_key,
                REFUSED_GRACE_SECONDS,
            )
            return tokens
        return None

    def _check_not_refused(self, refused: TokenSet | None) -> None:
        """Never refresh again with a token set Zoom refused (only with a newer one)."""
        tokens = self._tokens
        if refused is not None and tokens is not None and tokens.issued_at <= refused.issued_at:
            raise _StillRefused

    def _try_load(self) -> TokenSet | None:
        try:
            return self._store.load_tokens()
        except Exception as exc:  # the Prefect API is away: the lock waits for it
            note_api_trouble()
            logger.debug("Could not reload %s: %s", self._store.lock_key, exc)
            return None

    async def _atry_load(self) -> TokenSet | None:
        try:
            return await self._store.aload_tokens()
        except Exception as exc:
            note_api_trouble()
            logger.debug("Could not reload %s: %s", self._store.lock_key, exc)
            return None

    # ---- sync ------------------------------------------------------------------------------
    def _lead(self, rejected: str | None) -> str:
        if self._may_adopt_unlocked():
            self._adopt(self._try_load())
            if (token := self._adoptable(rejected)) is not None:
                return token
        return _shielded(lambda: self._renew_locked(rejected))

    def _renew_locked(self, rejected: str | None) -> str:
        started = time.monotonic()
        refused: TokenSet | None = None
        refusal: ZoomAPIError | None = None
        while True:
            try:
                return self._renew_once(rejected, refused)
            except _StillRefused:
                assert refusal is not None
                if time.monotonic() - started > REFUSED_GRACE_SECONDS:
                    raise refusal from None
            except ZoomAPIError as exc:
                if refused is not None or (refused := self._refused(exc)) is None:
                    raise
                refusal, started = exc, time.monotonic()
            except Exception as exc:
                if not self._keep_trying(started, exc):
                    raise
            time.sleep(RETRY_PAUSE_SECONDS)

    def _renew_once(self, rejected: str | None, refused: TokenSet | None) -> str:
        with connection_lock(self._store.lock_key) as lease:
            if self._absorb(self._store.load_tokens()):
                self._save(lease)
            if (token := self._adoptable(rejected)) is not None:
                logger.debug("Adopted the stored Zoom token of %s", self._store.lock_key)
                return token
            self._check_not_refused(refused)
            self._check_lease(lease)
            fresh = self._renew(self._tokens)
            self._keep(fresh)
            self._save(lease)
            return fresh.access_token.get_secret_value()

    def _save(self, lease: Lease) -> None:
        tokens = self._tokens
        assert tokens is not None
        delay = save_delays(SAVE_PATIENCE_SECONDS)
        attempt = 0
        while True:
            attempt += 1
            try:
                self._store.save_tokens(tokens)
            except Exception as exc:
                pause = delay(attempt, lease.remaining())
                self._save_failed(attempt, exc, giving_up=pause is None)
                if pause is None:
                    raise
                time.sleep(pause)
            else:
                self._saved(tokens)
                return

    # ---- async -----------------------------------------------------------------------------
    async def _alead(self, rejected: str | None) -> str:
        if self._may_adopt_unlocked():
            self._adopt(await self._atry_load())
            if (token := self._adoptable(rejected)) is not None:
                return token
        # its own task: cancelling the caller (or a Prefect timeout) ends the wait, not the work
        work = asyncio.ensure_future(self._arenew_locked(rejected))
        _running.add(work)
        work.add_done_callback(_finished)
        return await asyncio.shield(work)

    async def _arenew_locked(self, rejected: str | None) -> str:
        started = time.monotonic()
        refused: TokenSet | None = None
        refusal: ZoomAPIError | None = None
        while True:
            try:
                async with aconnection_lock(self._store.lock_key) as lease:
                    return await self._arenew_under(lease, rejected, refused)
            except _StillRefused:
                assert refusal is not None
                if time.monotonic() - started > REFUSED_GRACE_SECONDS:
                    raise refusal from None
            except ZoomAPIError as exc:
                if refused is not None or (refused := self._refused(exc)) is None:
                    raise
                refusal, started = exc, time.monotonic()
            except Exception as exc:
                if not self._keep_trying(started, exc):
                    raise
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def _arenew_under(
        self, lease: Lease, rejected: str | None, refused: TokenSet | None
    ) -> str:
        if self._absorb(await self._store.aload_tokens()):
            await self._asave(lease)
        if (token := self._adoptable(rejected)) is not None:
            logger.debug("Adopted the stored Zoom token of %s", self._store.lock_key)
            return token
        self._check_not_refused(refused)
        self._check_lease(lease)
        fresh = await self._arenew(self._tokens)
        self._keep(fresh)
        await self._asave(lease)
        return fresh.access_token.get_secret_value()

    async def _asave(self, lease: Lease) -> None:
        tokens = self._tokens
        assert tokens is not None
        delay = save_delays(SAVE_PATIENCE_SECONDS)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._store.asave_tokens(tokens)
            except Exception as exc:
                pause = delay(attempt, lease.remaining())
                self._save_failed(attempt, exc, giving_up=pause is None)
                if pause is None:
                    raise
                await asyncio.sleep(pause)
            else:
                self._saved(tokens)
                return


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
