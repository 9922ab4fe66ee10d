"""Single-flight per connection: one renewer at a time, across threads, tasks, processes, machines.

Two layers:

* in this process, a ``threading.Lock`` per key (async callers first queue on an ``asyncio.Lock``
  of their event loop, so at most one worker thread per loop waits on the thread lock);
* across processes, one lock that every process of the connection agrees on:

  - with ``PREFECT_API_URL`` set, the single slot of the Prefect global concurrency limit
    ``prefect-zoom-connection-<key>`` (limit 1, created on demand). The processes of one machine
    first queue on a local file lock (``<PREFECT_HOME>/prefect-zoom/queues/<key>.lock``, waited
    for at most ``QUEUE_SECONDS``), so one of them at a time polls the API: waiters' polls slowed
    the holder's own requests on a busy server. When the API does not answer,
    a process waits for it (and keeps using its current access token meanwhile) instead of
    switching to a lock that other machines cannot see;
  - without a Prefect API, a ``filelock.FileLock`` at ``<PREFECT_HOME>/prefect-zoom/locks/<key>.lock``
    (the operating system frees it when its holder dies).

The holder of the Prefect slot keeps a **short lease** alive: every ``HEARTBEAT_SECONDS`` it renews
Prefect's lease of the slot and bumps a heartbeat record (the Prefect variable
``prefect-zoom-lease-<key>-<digest>``: lease id, limit id, holder, a counter; nothing secret). A
waiter that sees that record stand still for ``LEASE_SECONDS`` releases the lease named in it; when the slot is
still taken ``LEASE_SECONDS`` later (a holder that died before writing its record, or a Prefect
server restarted with its leases lost), it recreates the limit. So a crashed holder frees the lock
within seconds. Waiting polls on a short jittered schedule, never overflows, and ends after
``ACQUIRE_TIMEOUT_SECONDS`` with :class:`ConnectionLockTimeout`, which says what was blocking.

Hold the lock only around reload → adopt or renew → save.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import math
import os
import random
import re
import socket
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import anyio
import anyio.to_thread
import filelock
import httpx

from prefect_zoom._prefect_api import asking_client, prefect_client
from prefect_zoom.exceptions import ConnectionLockTimeout

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

logger = logging.getLogger(__name__)

LIMIT_PREFIX = "prefect-zoom-connection-"
RECORD_PREFIX = "prefect-zoom-lease-"
ACQUIRE_TIMEOUT_SECONDS = 120.0
"""The longest a caller waits for the lock before :class:`ConnectionLockTimeout`."""
LEASE_SECONDS = 5.0
"""A holder whose heartbeat stands still this long counts as dead."""
HEARTBEAT_SECONDS = 1.0
"""How often a holder renews its lease."""
PREFECT_LEASE_SECONDS = 60.0
"""The lease asked of Prefect for the slot (its minimum), renewed with every heartbeat."""
CHECK_SECONDS = 0.5
"""How often a waiter reads the holder's heartbeat record."""
QUEUE_SECONDS = 2 * LEASE_SECONDS
"""The longest a process waits behind the other processes of its machine before it polls the
Prefect slot itself (a frozen holder's silence is noticed only there)."""
QUEUE_CHECK_SECONDS = 0.01
"""How often a caller waiting behind another thread or process of its machine runs its
``watch`` (see :func:`connection_lock`) and tries the lock again: a look at a small file, while
the callers of every process of the machine wait for the token the holder is getting."""
BUSY_SECONDS = 5.0
"""5xx answers to a waiter's polls for less than this are a busy Prefect API (SQLite busy under
many writers answers 503), not an outage: Prefect's client retries a save through them, so they
cannot have left another machine's renewed tokens unsaved (:func:`note_api_trouble`)."""
POLL_MIN_SECONDS = 0.02
POLL_MAX_SECONDS = 0.1
Watch = Callable[[], None] | None
"""Run while a process waits for the lock behind the others of its machine; raises to stop."""
_jitter = random.Random()  # our own, so the global random of user code stays untouched

_registry_guard = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}
_loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
_ensured_limits: set[tuple[str, str]] = set()
_api_trouble_at: dict[str, float] = {}  # Prefect API URL -> when it last failed to answer


def safe_key(key: str) -> str:
    """A key usable in a file name and a concurrency-limit name."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", key).strip("-.")
    return cleaned or "default"


def limit_name(key: str) -> str:
    """The Prefect global concurrency limit used as this connection's mutex."""
    return f"{LIMIT_PREFIX}{safe_key(key)}"


def record_name(key: str) -> str:
    """The Prefect variable holding the heartbeat of this connection's lock holder (variable
    names are lowercase: a digest of the exact key keeps ``Zoom`` and ``zoom`` apart)."""
    readable = safe_key(key).replace(".", "-").lower()[:80]
    return f"{RECORD_PREFIX}{readable}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def lock_file(key: str) -> Path:
    """The file lock used when no Prefect API is configured."""
    from prefect.settings import PREFECT_HOME

    home = Path(PREFECT_HOME.value()).expanduser()
    return home / "prefect-zoom" / "locks" / f"{safe_key(key)}.lock"


def prefect_api_url() -> str | None:
    """The configured Prefect API (``None``: none, so the lock is a local file)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    return str(url) if url else None


def note_api_trouble() -> None:
    """Remember that the connection's shared state may lag behind another machine: the configured
    Prefect API just failed (down, 5xx for ``BUSY_SECONDS`` or more, a failed save) or answered
    very slowly, or a lock holder went silent (it may have renewed at Zoom without saving, as one
    that lost the API does)."""
    url = prefect_api_url()
    if url:
        _api_trouble_at[url] = time.monotonic()


def api_trouble_within(seconds: float) -> bool:
    """Whether this process saw trouble (:func:`note_api_trouble`) within the last ``seconds``."""
    url = prefect_api_url()
    seen = _api_trouble_at.get(url) if url else None
    return seen is not None and time.monotonic() - seen <= seconds


def forget_api_trouble() -> None:
    """Forget every Prefect API failure seen so far (tests start from a healthy API)."""
    _api_trouble_at.clear()


def _thread_lock(key: str) -> threading.Lock:
    with _registry_guard:
        return _thread_locks.setdefault(key, threading.Lock())


def _loop_lock(key: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    with _registry_guard:
        return _loop_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())


def _poll_delay(attempt: int) -> float:
    """Jittered, growing from ``POLL_MIN_SECONDS`` to ``POLL_MAX_SECONDS``; any attempt number."""
    ceiling = POLL_MIN_SECONDS * 2 ** min(attempt, 8)
    return _jitter.uniform(POLL_MIN_SECONDS, min(POLL_MAX_SECONDS, ceiling))


class Lease:
    """A held connection lock: how long it is certainly still ours."""

    def __init__(self, expires: bool) -> None:
        self._expires = expires
        self._renewed = time.monotonic()

    def renewed(self, sent_at: float) -> None:
        """The heartbeat sent at ``sent_at`` (``time.monotonic()``) was stored. The lease counts
        from when it was SENT: a waiter may have seen it as soon as the server stored it, long
        before a slow answer came back, and counts its silence from then."""
        self._renewed = max(self._renewed, sent_at)

    def remaining(self) -> float:
        """Seconds the lease lasts without another renewal (``inf``: it cannot expire)."""
        if not self._expires:
            return math.inf
        return max(0.0, LEASE_SECONDS - (time.monotonic() - self._renewed))


# ---- the Prefect global concurrency limit, created on demand -----------------------------------
def ensure_single_slot_limit(client: SyncPrefectClient, name: str) -> None:
    """Create (or repair) a global concurrency limit of exactly 1 slot."""
    url = prefect_api_url() or ""
    if (url, name) in _ensured_limits:
        return
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    try:
        existing = client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        try:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=1, active=True)
            )
        except (ObjectAlreadyExists, httpx.HTTPStatusError):  # created meanwhile (409, or a 500)
            client.read_global_concurrency_limit_by_name(name)
    else:
        if existing.limit != 1 or not existing.active:
            client.update_global_concurrency_limit(
                name, GlobalConcurrencyLimitUpdate(limit=1, active=True)
            )
    _ensured_limits.add((url, name))


def _forget_limit(name: str) -> None:
    _ensured_limits.discard((prefect_api_url() or "", name))


def _status(exc: BaseException) -> int | None:
    return exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None


# ---- the holder's heartbeat record -------------------------------------------------------------
def _read_record(client: SyncPrefectClient, key: str) -> dict[str, Any] | None:
    variable = client.read_variable_by_name(record_name(key))
    value = variable.value if variable is not None else None
    return value if isinstance(value, dict) else None


def _write_record(client: SyncPrefectClient, key: str, value: dict[str, Any]) -> None:
    from prefect.client.schemas.actions import VariableCreate, VariableUpdate
    from prefect.exceptions import ObjectAlreadyExists

    name = record_name(key)
    try:
        client.update_variable(VariableUpdate(name=name, value=value))
    except httpx.HTTPStatusError as exc:
        if _status(exc) != 404:
            raise
        try:
            client.create_variable(VariableCreate(name=name, value=value))
        except ObjectAlreadyExists:  # created meanwhile
            client.update_variable(VariableUpdate(name=name, value=value))


class HolderWatch:
    """What a waiter concludes from the holder's heartbeat record while the slot stays taken.

    Pure bookkeeping on the waiter's own clock (no clocks of other machines are compared):
    ``"release"`` once the record stood still for ``LEASE_SECONDS`` (free the lease named in it),
    ``"recycle"`` once it stood still ``LEASE_SECONDS`` more (recreate the limit), else ``"wait"``.
    """

    _UNSEEN = object()

    def __init__(self) -> None:
        self._record: object = self._UNSEEN
        self._since = 0.0
        self.released = False
        self.limit_id: str | None = None
        """The limit seen taken at the release step: the one a recycle deletes."""

    def see(self, record: object, now: float) -> str:
        if record != self._record:
            self._record, self._since, self.released, self.limit_id = record, now, False, None
            return "wait"
        still = now - self._since
        if self.released and self.limit_id is not None and still >= 2 * LEASE_SECONDS:
            self._since, self.released = now, False  # and the watch starts over
            return "recycle"
        if not self.released and still >= LEASE_SECONDS:
            self.released = True
            return "release"
        return "wait"


def _deal_with_silence(client: SyncPrefectClient, key: str, watch: HolderWatch) -> str:
    """Read the holder's heartbeat; free the slot of a holder gone silent. Says what blocks."""
    name = limit_name(key)
    record = _read_record(client, key)
    action = watch.see(record, time.monotonic())
    if action == "release":
        note_api_trouble()
        lease = (record or {}).get("lease")
        if lease:
            logger.warning("Freeing the lock of Zoom connection %r: its holder went silent", key)
            client.release_concurrency_slots_with_lease(UUID(str(lease)))
        watch.limit_id = str(client.read_global_concurrency_limit_by_name(name).id)
    elif action == "recycle" and watch.limit_id is not None:
        logger.warning("Recreating the lock of Zoom connection %r: its slot is orphaned", key)
        stuck, watch.limit_id = watch.limit_id, None
        with suppress(httpx.HTTPStatusError):  # 404: another waiter recreated it already
            client.request(
                "DELETE", "/v2/concurrency_limits/{id_or_name}", path_params={"id_or_name": stuck}
            )
        _forget_limit(name)
    holder = (record or {}).get("holder", "another process")
    return f"{holder} holds it (its heartbeat is watched: a silent holder is freed)"


# ---- the cross-process layer -------------------------------------------------------------------
class _PrefectSlot:
    """The held slot of the connection's limit, with the thread that keeps its lease alive."""

    def __init__(self, key: str, lease_id: UUID, limit_id: str) -> None:
        self.key = key
        self.lease_id = lease_id
        self.lease = Lease(expires=True)
        self._record: dict[str, Any] = {
            "lease": str(lease_id),
            "limit": limit_id,
            "holder": f"pid {os.getpid()} on {socket.gethostname()}",
            "beat": 0,
        }
        self._stop = threading.Event()
        context = contextvars.copy_context()  # the holder's Prefect settings (API URL)
        self._keeper = threading.Thread(
            target=context.run, args=(self._keep,), name=f"prefect-zoom-lease-{key}", daemon=True
        )

    def start(self, client: SyncPrefectClient) -> None:
        sent_at = time.monotonic()
        _write_record(client, self.key, self._record)
        self.lease.renewed(sent_at)
        self._keeper.start()

    def _keep(self) -> None:
        with prefect_client() as client:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                sent_at = time.monotonic()
                try:
                    client.renew_concurrency_lease(self.lease_id, PREFECT_LEASE_SECONDS)
                    self._record["beat"] += 1
                    _write_record(client, self.key, self._record)
                except Exception as exc:  # the API is away: the lease runs down meanwhile
                    note_api_trouble()
                    logger.debug("Could not renew the lease of %r: %s", self.key, exc)
                else:
                    self.lease.renewed(sent_at)

    def release(self) -> None:
        self._stop.set()
        if self._keeper.is_alive():
            self._keeper.join(30)
        try:
            with prefect_client() as client:
                client.release_concurrency_slots_with_lease(self.lease_id)
        except Exception as exc:  # waiters free it once its heartbeat stands still
            logger.warning("Could not release the lock of Zoom connection %r: %s", self.key, exc)


def _take_prefect_slot(key: str, url: str) -> _PrefectSlot:
    name = limit_name(key)
    started = time.monotonic()
    watch = HolderWatch()
    blocking = "nothing yet"
    attempt = 0
    next_check = started + CHECK_SECONDS
    failing_since: float | None = None  # when the API's current run of 5xx answers began
    with prefect_client() as client, asking_client() as asking:
        while True:
            try:
                ensure_single_slot_limit(client, name)
                body = asking.increment_concurrency_slots_with_lease(
                    names=[name], slots=1, mode="concurrency", lease_duration=PREFECT_LEASE_SECONDS
                ).json()
                lease_id = UUID(str(body["lease_id"]))
                if body.get("limits"):
                    slot = _PrefectSlot(key, lease_id, str(body["limits"][0]["id"]))
                    try:
                        slot.start(client)
                    except BaseException:
                        slot.release()
                        raise
                    return slot
                # the limit was just recreated by a waiter: this lease holds nothing
                client.release_concurrency_slots_with_lease(lease_id)
                _forget_limit(name)
                continue
            except httpx.HTTPStatusError as exc:
                status = _status(exc)
                if status == 423:
                    failing_since = None
                    blocking = "another process holds it"
                    if time.monotonic() >= next_check:
                        next_check = time.monotonic() + CHECK_SECONDS
                        blocking = _deal_with_silence(client, key, watch)
                elif status is not None and status >= 500:
                    now = time.monotonic()
                    failing_since = now if failing_since is None else failing_since
                    if now - failing_since >= BUSY_SECONDS:
                        note_api_trouble()
                    blocking = f"the Prefect API at {url} answers {status}; check the server"
                else:
                    raise
            except httpx.TransportError as exc:
                note_api_trouble()
                _forget_limit(name)  # it may come back with another database
                blocking = (
                    f"the Prefect API at {url} does not answer ({type(exc).__name__}); start it "
                    "or fix PREFECT_API_URL (the connection is renewed once it answers)"
                )
            waited = time.monotonic() - started
            if waited >= ACQUIRE_TIMEOUT_SECONDS:
                raise ConnectionLockTimeout(key, waited, blocking)
            time.sleep(_poll_delay(attempt))
            attempt += 1


def queue_file(key: str) -> Path:
    """The file the processes of this machine queue on before they ask Prefect for the slot."""
    from prefect.settings import PREFECT_HOME

    home = Path(PREFECT_HOME.value()).expanduser()
    return home / "prefect-zoom" / "queues" / f"{safe_key(key)}.lock"


def _join_machine_queue(key: str, watch: Watch) -> Callable[[], None]:
    """Wait (at most ``QUEUE_SECONDS``) behind the other processes of this machine, so only one
    of them at a time polls the Prefect API for the slot; the function that leaves the queue.

    A holder that is frozen rather than dead keeps its place; after ``QUEUE_SECONDS`` a waiter
    polls the slot anyway, where a silent holder is found and freed as before."""
    return _taken_file_lock(queue_file(key), QUEUE_SECONDS, watch) or (lambda: None)


def _taken_file_lock(path: Path, timeout: float, watch: Watch) -> Callable[[], None] | None:
    """Take the file lock at ``path`` within ``timeout`` seconds: the function that releases it,
    or ``None`` when another process kept it. ``watch`` runs every ``QUEUE_CHECK_SECONDS`` of
    the wait; what it raises ends the wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path), thread_local=False)
    deadline = time.monotonic() + timeout
    while True:
        try:
            lock.acquire(
                timeout=max(0.0, min(QUEUE_CHECK_SECONDS, deadline - time.monotonic())),
                poll_interval=QUEUE_CHECK_SECONDS,
            )
        except filelock.Timeout:
            if time.monotonic() >= deadline:
                return None
            if watch is not None:
                watch()
        else:
            return lock.release


def _take_process_lock(key: str, watch: Watch = None) -> tuple[Lease, Callable[[], None]]:
    """The cross-process lock: the Prefect slot with an API configured (its processes on this
    machine queue for it on a local file first), else the file lock."""
    url = prefect_api_url()
    if url:
        leave_queue = _join_machine_queue(key, watch)
        try:
            slot = _take_prefect_slot(key, url)
        except BaseException:
            leave_queue()
            raise

        def release() -> None:
            try:
                slot.release()
            finally:
                leave_queue()

        return slot.lease, release
    path = lock_file(key)
    unlock = _taken_file_lock(path, ACQUIRE_TIMEOUT_SECONDS, watch)
    if unlock is None:
        raise ConnectionLockTimeout(
            key, ACQUIRE_TIMEOUT_SECONDS, f"another process on this machine holds {path}"
        )
    return Lease(expires=False), unlock


class _Held:
    """Both layers of a connection's lock, taken in one thread and releasable from any."""

    def __init__(self, key: str, watch: Watch = None) -> None:
        self._thread_lock = _thread_lock(key)
        started = time.monotonic()
        while not self._thread_lock.acquire(timeout=QUEUE_CHECK_SECONDS):
            if time.monotonic() - started >= ACQUIRE_TIMEOUT_SECONDS:
                raise ConnectionLockTimeout(
                    key, time.monotonic() - started, "another thread of this process renews it"
                )
            if watch is not None:
                watch()
        try:
            self.lease, self._release = _take_process_lock(key, watch)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        try:
            self._release()
        finally:
            self._thread_lock.release()


# ---- public ------------------------------------------------------------------------------------
@contextmanager
def connection_lock(key: str, watch: Watch = None) -> Iterator[Lease]:
    """Hold the connection's lock: this process's threads first, then other processes.

    ``watch`` runs now and then while the caller waits behind other threads or processes of its
    machine; an exception it raises ends the wait, the lock not taken (the caller no longer
    needs it)."""
    held = _Held(key, watch)
    try:
        yield held.lease
    finally:
        held.release()


@asynccontextmanager
async def aconnection_lock(key: str, watch: Watch = None) -> AsyncIterator[Lease]:
    """Async twin of :func:`connection_lock`; never blocks the event loop."""
    async with _loop_lock(key):
        taken: list[_Held] = []
        try:
            # Not cancellable on purpose: a cancelled wait must not leave the lock held and
            # orphaned, so the lock lands in ``taken`` and is released below either way.
            await anyio.to_thread.run_sync(lambda: taken.append(_Held(key, watch)))
            yield taken[0].lease
        finally:
            if taken:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(taken[0].release)
