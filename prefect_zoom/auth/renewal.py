"""The renewal rules of a connection shared by threads, tasks and processes, written once, no I/O.

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

The callers of the renewing process use the new tokens once they are in the recovery store,
while the save goes on. A token set another process of this machine renewed within
``SAVE_PATIENCE_SECONDS`` (so its renewer is still saving it) is adopted straight from the
recovery store, without a Prefect API read or the lock: after a 401 (its new token invalidated
ours) and while waiting for the lock (the wait ends as soon as the renewer records it). Once
that time has passed, the adopter looks at the recovery store again: a file still there means
the renewer never saved it, and the adopter saves it under the lock (rule 3).

How: a *sans-I/O core*. :meth:`Renewal.token` is a generator that yields what it needs done
(:class:`Load` the block, take the connection's lock with :class:`Locked`, :class:`Renew` at
Zoom, :class:`Save`, :class:`Pause`, ...) and receives the answers (or has the exception thrown
in). :class:`~prefect_zoom.auth.manager.TokenManager` drives it with a short sync loop and a short
async loop (``prefect_zoom._sansio``), as ``httpx.Auth`` flows are driven. This was chosen over
running one async implementation from sync code (Prefect tasks are mostly sync and may already
run inside an event loop: nesting loops there is fragile) and over generating the sync half
(a build step, and two copies still to read).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Protocol

import httpx
from prefect.exceptions import PrefectException

from prefect_zoom._sansio import Flow
from prefect_zoom.auth import recovery
from prefect_zoom.auth.locks import (
    LEASE_SECONDS,
    ConnectionLockTimeout,
    Lease,
    api_trouble_within,
    note_api_trouble,
)
from prefect_zoom.auth.tokens import TokenSet, utcnow
from prefect_zoom.exceptions import ZoomAPIError, ZoomAuthorizeAgainError

logger = logging.getLogger(__name__)

SAVE_PATIENCE_SECONDS = 30.0
"""The longest renewed tokens are retried to the block (and never longer than the lock's lease)."""
SAVE_BACKOFF_MIN_SECONDS = 0.1
SAVE_BACKOFF_MAX_SECONDS = 2.0
SAVE_MIN_ATTEMPTS = 3
"""Tries of a save however slowly the Prefect API answers (``SAVE_PATIENCE_SECONDS`` bounds only
the tries after these; the lease bounds all of them)."""
RETRY_PAUSE_SECONDS = 0.2
"""Between two tries to take the lock again after a failure under it."""
REFUSED_GRACE_SECONDS = 20.0
"""After Zoom refuses the block's refresh token (``invalid_grant``) shortly after a Prefect API
outage, how long to keep reloading the block for newer tokens before giving up: another machine
may have renewed just as the API went away, and saves them as soon as it takes the lock again."""
OUTAGE_MEMORY_SECONDS = 120.0
"""How recent a Prefect API failure seen by this process must be for a refusal to wait
``REFUSED_GRACE_SECONDS``; without one, a refused refresh (a revoked app) fails at once."""
SLOW_API_SECONDS = 5.0
"""A reload that took longer went through an outage (Prefect's client retries quietly): it counts
as Prefect API trouble, like a reload that failed."""
FOLLOW_TIMEOUT_SECONDS = 300.0
"""The longest a caller waits for the renewal another caller of this process leads."""
JUST_READ_SECONDS = 2.0
"""Tokens read from the block this recently (:meth:`Renewal.note_read`) are not read again
before the lock is taken: the reload under the lock sees any newer save anyway. A process that
loads a connection with no usable token saves one Prefect API round trip, as it starts."""


# ---- what the core asks its shell to do ---------------------------------------------------------
@dataclass(frozen=True)
class Follow:
    """Wait for the renewal another caller of this process leads (answer: ``None``, or its error)."""

    flight: Future[None]


@dataclass(frozen=True)
class Shielded:
    """Run ``flow`` to its end even when the caller is cancelled or times out; answer: its value."""

    flow: Flow[str]


@dataclass(frozen=True)
class Locked:
    """Hold the connection's lock while running ``body(lease)``; answer: the body's value.

    While waiting for it, the shell shows ``overtaken`` what the recovery store holds now and
    then; once it says yes, the wait ends with :class:`_Overtaken` (the lock not taken).
    """

    body: Callable[[Lease], Flow[str]]
    overtaken: Callable[[TokenSet | None], bool] | None = None


class _Overtaken(Exception):
    """A wait for the lock ended: the recovery store holds ``tokens``, renewed meanwhile."""

    def __init__(self, tokens: TokenSet) -> None:
        super().__init__("another process renewed the connection meanwhile")
        self.tokens = tokens


@dataclass(frozen=True)
class Load:
    """Reload the stored tokens; answer: them, or ``None`` when nothing is stored."""


@dataclass(frozen=True)
class Save:
    """Store ``tokens`` so other processes can adopt them."""

    tokens: TokenSet


@dataclass(frozen=True)
class Renew:
    """Get new tokens from Zoom (refresh with ``current``'s refresh token, or a new grant)."""

    current: TokenSet | None


@dataclass(frozen=True)
class Pause:
    """Sleep ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Recovery:
    """This machine's recovery store: ``recall`` what the block may lack (answer: the tokens, or
    ``None``), its ``latest`` tokens (saved or being saved), ``record`` ``tokens`` (before
    anything else), ``forget`` them (the block holds them now) or ``abandon`` them (their save
    was given up: the next lock holder saves them)."""

    action: Literal["recall", "latest", "record", "forget", "abandon"]
    tokens: TokenSet | None = None


Request = Follow | Shielded | Locked | Load | Save | Renew | Pause | Recovery


# ---- pure helpers ------------------------------------------------------------------------------
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


def save_delays(patience: float) -> Callable[[int, float], float | None]:
    """Backoff between save attempts: doubling, capped, ``None`` once the lease (given as the
    second argument in seconds left) would run out, or ``patience`` would after
    ``SAVE_MIN_ATTEMPTS`` tries."""
    started = time.monotonic()

    def delay(attempt: int, lease_left: float) -> float | None:
        pause = min(SAVE_BACKOFF_MAX_SECONDS, SAVE_BACKOFF_MIN_SECONDS * 2 ** min(attempt - 1, 8))
        left = lease_left
        if attempt >= SAVE_MIN_ATTEMPTS:
            left = min(left, patience - (time.monotonic() - started))
        return pause if pause < left else None

    return delay


class _StillRefused(Exception):
    """The block still holds only the token set whose refresh Zoom refused: wait for a newer one."""


class ConnectionNames(Protocol):
    """How a connection is named for locking and for the recovery store."""

    @property
    def lock_key(self) -> str: ...

    @property
    def recovery_key(self) -> str | None: ...


# ---- the core ----------------------------------------------------------------------------------
class Renewal:
    """A connection's tokens in this process, and the flows that keep them valid."""

    def __init__(self, names: ConnectionNames, tokens: TokenSet | None) -> None:
        self.names = names
        self.tokens = tokens
        self.unsaved = False
        """Renewed tokens are held whose save to the block has not succeeded yet."""
        self.saving = False
        """The renewed tokens are in the recovery store and their save is under way: usable."""
        self._guard = threading.Lock()  # never held across I/O
        self._flight: Future[None] | None = None
        self._recheck_at: float | None = None
        """When tokens adopted from the recovery store before their save are looked at again."""
        self._read_at: float | None = None
        """When ``tokens`` were read from the block, if the owner said so (:meth:`note_read`)."""

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_guard", None)
        # what this process knows of its own flights and reads
        state.update(_flight=None, saving=False, _recheck_at=None, _read_at=None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._guard = threading.Lock()

    def note_read(self) -> None:
        """``tokens`` were read from the block just now (a connection loaded by name)."""
        self._read_at = time.monotonic()

    def _just_read(self, rejected: str | None) -> bool:
        """Whether reloading the block before the lock would only read what was just read (a
        rejected token reloads anyway: whoever made it stale may have saved since)."""
        read_at = self._read_at
        return (
            rejected is None
            and read_at is not None
            and time.monotonic() - read_at < JUST_READ_SECONDS
        )

    def usable(self, rejected: str | None = None) -> str | None:
        """The access token in memory when it is fresh, saved and not ``rejected``."""
        tokens = self.tokens
        if tokens is None or (self.unsaved and not self.saving):
            return None
        if not tokens.usable(rejected=rejected):
            return None
        if self._recheck_at is not None and time.monotonic() >= self._recheck_at:
            return None  # was its save ever done? the recovery store says (see ``token``)
        return tokens.access_token.get_secret_value()

    def adoptable(self, recovered: TokenSet | None, rejected: str | None) -> bool:
        """Whether ``recovered`` (the recovery store's tokens) is newer than the ones in memory,
        usable, and recent enough that its renewer is still saving it to the block."""
        current = self.tokens
        return (
            recovered is not None
            and (current is None or recovered.issued_at > current.issued_at)
            and recovered.usable(rejected=rejected)
            and utcnow() - recovered.issued_at < timedelta(seconds=SAVE_PATIENCE_SECONDS)
        )

    def _newest_here(self, latest: TokenSet | None, rejected: str | None) -> bool:
        """Whether a token that ran out is the newest this machine has saved (``latest``): then
        reloading the block first only helps when another machine renewed, and the lock's own
        reload sees that too (a 401 still reloads first: someone renewed)."""
        current = self.tokens
        return (
            rejected is None
            and latest is not None
            and current is not None
            and latest.issued_at == current.issued_at
        )

    def _adopt_recovered(self, recovered: TokenSet) -> str:
        """Use another process's tokens before they are saved; look again once it had time."""
        self.tokens, self.unsaved = recovered, False
        self._recheck_at = time.monotonic() + SAVE_PATIENCE_SECONDS
        logger.debug("Adopted the recovered Zoom token of %s", self.names.lock_key)
        return recovered.access_token.get_secret_value()

    def token(self, rejected: str | None) -> Flow[str]:
        """A usable access token (``rejected``: the one Zoom just answered 401 to).

        In this process one caller leads the renewal and the others wait for its outcome
        (waiting on a future wakes them all: no lock to starve on).
        """
        while True:
            with self._guard:
                if (token := self.usable(rejected)) is not None:
                    return token
                flight, lead = self._flight, self._flight is None
                if flight is None:
                    flight = self._flight = Future()
            if not lead:
                yield Follow(flight)
                continue
            with self._landing(flight):
                latest = None if self.unsaved else (yield Recovery("latest"))
                if self.adoptable(latest, rejected):
                    assert latest is not None
                    return self._adopt_recovered(latest)
                if not self.unsaved and (latest is None or (yield Recovery("recall")) is None):
                    # adopting from the block needs no lock unless a save is still owed
                    self._recheck_at = None  # the block holds what the store held
                    if (
                        (token := self.usable(rejected)) is None
                        and not self._newest_here(latest, rejected)
                        and not self._just_read(rejected)
                    ):
                        stored = yield from self._try_load()
                        if stored is not None:
                            self.tokens = stored
                        token = self.usable(rejected)
                    if token is not None:
                        return token
                renewed: str = yield Shielded(self._renew(rejected))
                return renewed

    @contextmanager
    def _landing(self, flight: Future[None]) -> Iterator[None]:
        """End the lead: followers see the same failure (e.g. ``invalid_grant``), or look again
        (after a success, or a cancelled leader)."""
        error: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            error = exc
            raise
        finally:
            with self._guard:
                if self._flight is flight:
                    self._flight = None
            if not flight.done():
                if isinstance(error, Exception):
                    flight.set_exception(error)
                else:
                    flight.set_result(None)

    def _try_load(self) -> Flow[TokenSet | None]:
        started = time.monotonic()
        try:
            stored: TokenSet | None = yield Load()
        except Exception as exc:  # the Prefect API is away: the lock waits for it
            note_api_trouble()
            logger.debug("Could not reload %s: %s", self.names.lock_key, exc)
            return None
        if time.monotonic() - started > SLOW_API_SECONDS:
            note_api_trouble()  # Prefect's client retried through an outage: it was away
        return stored

    def _renew(self, rejected: str | None) -> Flow[str]:
        """Under the lock: adopt, or renew and save; take the lock again after a failure when
        that may still succeed."""
        started = time.monotonic()
        refused: TokenSet | None = None
        refusal: ZoomAPIError | None = None
        while True:
            try:
                token: str = yield Locked(
                    lambda lease: self._under_lock(lease, rejected, refused),
                    overtaken=lambda found: not self.unsaved and self.adoptable(found, rejected),
                )
                return token
            except _Overtaken as overtaken:
                return self._adopt_recovered(overtaken.tokens)
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
            yield Pause(RETRY_PAUSE_SECONDS)

    def _under_lock(
        self, lease: Lease, rejected: str | None, refused: TokenSet | None
    ) -> Flow[str]:
        if (yield from self._absorb()):
            yield from self._save(lease)
        if (token := self.usable(rejected)) is not None:
            logger.debug("Adopted the stored Zoom token of %s", self.names.lock_key)
            return token
        self._check_not_refused(refused)
        self._check_lease(lease)
        fresh: TokenSet = yield Renew(self.tokens)
        yield from self._keep(fresh)
        yield from self._save(lease)
        return fresh.access_token.get_secret_value()

    def _absorb(self) -> Flow[bool]:
        """Take the newest of block, recovery store and memory; True when the block is behind."""
        stored: TokenSet | None = yield Load()
        recovered: TokenSet | None = yield Recovery("recall")
        best, behind = reconcile(stored, recovered, self.tokens if self.unsaved else None)
        if best is not None:
            self.tokens, self.unsaved, self._recheck_at = best, behind, None
            if not behind:
                yield from self._saved(best)  # a recovery file the block caught up with goes
        return behind

    def _check_lease(self, lease: Lease) -> None:
        """Never renew on a lease about to run out: the lock may be another process's by then."""
        if lease.remaining() < LEASE_SECONDS / 2:
            raise ConnectionLockTimeout(
                self.names.lock_key, 0, "its lease ran out before the renewal (Prefect API away?)"
            )

    def _keep(self, fresh: TokenSet) -> Flow[None]:
        """Zoom answered: hold the new tokens and put them on disk before anything else."""
        self.tokens, self.unsaved = fresh, True
        try:
            yield Recovery("record", fresh)
        except OSError as exc:  # the block save below is then the only way to keep them
            logger.error(
                "Could not write the recovery file of %s (%s); saving to the block only",
                self.names.lock_key,
                exc,
            )
        else:
            # kept on disk, as other processes may adopt them now: so may this one's callers
            with self._guard:  # the lead ends here: a later 401 may start the next one
                self.saving, flight, self._flight = True, self._flight, None
            if flight is not None and not flight.done():
                flight.set_result(None)

    def _save(self, lease: Lease) -> Flow[None]:
        tokens = self.tokens
        assert tokens is not None
        delay = save_delays(SAVE_PATIENCE_SECONDS)
        attempt = 0
        try:
            while True:
                attempt += 1
                try:
                    yield Save(tokens)
                except Exception as exc:
                    pause = delay(attempt, lease.remaining())
                    self._save_failed(attempt, exc, giving_up=pause is None)
                    if pause is None:
                        yield Recovery("abandon", tokens)
                        raise
                    yield Pause(pause)
                else:
                    yield from self._saved(tokens)
                    return
        finally:
            self.saving = False  # given up: the next caller leads, and saves under the lock

    def _saved(self, tokens: TokenSet) -> Flow[None]:
        self.unsaved = False
        yield Recovery("forget", tokens)

    def _save_failed(self, attempt: int, exc: Exception, giving_up: bool) -> None:
        """Log a failed save of renewed tokens (never the tokens themselves)."""
        note_api_trouble()
        logger.warning(
            "Could not save the renewed Zoom tokens of %s (attempt %d%s): %s: %s",
            self.names.lock_key,
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
        return (self.unsaved or prefect_away) and (
            time.monotonic() - started < SAVE_PATIENCE_SECONDS
        )

    def _refused(self, error: ZoomAPIError) -> TokenSet | None:
        """The token set whose refresh Zoom just refused, when a newer one may still come.

        After a Prefect API outage, another machine can hold a refresh it could not save (it
        renewed just as the API went away; its recovery store is its own): Zoom refuses the
        block's rotated-out refresh token until that machine saves. So a refusal soon after this
        process saw trouble (the API failed or crawled, or a lock holder went silent:
        :func:`~prefect_zoom.auth.locks.note_api_trouble`) waits for the block to move on
        (``REFUSED_GRACE_SECONDS``) instead of failing at once; any other refusal (a revoked
        app) fails at once.
        """
        tokens = self.tokens
        if (
            isinstance(error, ZoomAuthorizeAgainError)
            and tokens is not None
            and tokens.refresh_token is not None
            and self.names.recovery_key is not None
            and api_trouble_within(OUTAGE_MEMORY_SECONDS)
        ):
            logger.warning(
                "Zoom refused the stored refresh token of %s; waiting up to %.0f s for a newer "
                "one another machine may still save",
                self.names.lock_key,
                REFUSED_GRACE_SECONDS,
            )
            return tokens
        return None

    def _check_not_refused(self, refused: TokenSet | None) -> None:
        """Never refresh again with a token set Zoom refused (only with a newer one)."""
        tokens = self.tokens
        if refused is not None and tokens is not None and tokens.issued_at <= refused.issued_at:
            raise _StillRefused
