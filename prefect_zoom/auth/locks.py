"""Single-flight per connection: one refresher at a time, across threads, tasks and processes.

Two layers:

* in this process, a ``threading.Lock`` per key (async callers first queue on an ``asyncio.Lock``
  of their event loop, so at most one worker thread per loop waits on the thread lock);
* across processes, the single slot of a Prefect global concurrency limit named
  ``prefect-zoom-connection-<key>`` (limit 1, created on demand; held with a lease of
  ``LEASE_SECONDS`` so a crashed holder frees it) when a Prefect API is configured and healthy,
  otherwise a ``filelock.FileLock`` at ``<PREFECT_HOME>/prefect-zoom/locks/<key>.lock``.

Hold the lock only around reload → adopt or refresh → save.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from uuid import UUID

import anyio
import anyio.to_thread
import filelock
import httpx

logger = logging.getLogger(__name__)

LIMIT_PREFIX = "prefect-zoom-connection-"
ACQUIRE_TIMEOUT_SECONDS = 120.0
LEASE_SECONDS = 180.0
HEALTH_TTL_SECONDS = 60.0
POLL_MIN_SECONDS = 0.02
POLL_MAX_SECONDS = 0.1
_jitter = random.Random()  # our own, so the global random of user code stays untouched

_registry_guard = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}
_loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
_health: dict[str, tuple[bool, float]] = {}
_ensured_limits: set[tuple[str, str]] = set()


def safe_key(key: str) -> str:
    """A key usable in a file name and a concurrency-limit name."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", key).strip("-.")
    return cleaned or "default"


def limit_name(key: str) -> str:
    """The Prefect global concurrency limit used as this connection's mutex."""
    return f"{LIMIT_PREFIX}{safe_key(key)}"


def lock_file(key: str) -> Path:
    """The file lock used when no Prefect API is reachable."""
    from prefect.settings import PREFECT_HOME

    home = Path(PREFECT_HOME.value()).expanduser()
    return home / "prefect-zoom" / "locks" / f"{safe_key(key)}.lock"


def _thread_lock(key: str) -> threading.Lock:
    with _registry_guard:
        return _thread_locks.setdefault(key, threading.Lock())


def _loop_lock(key: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    with _registry_guard:
        return _loop_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())


# ---- is a Prefect API there? -------------------------------------------------------------------
def _api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    return str(url) if url else None


def prefect_api_available() -> bool:
    """PREFECT_API_URL is set and its health check answers (cached for a minute)."""
    url = _api_url()
    if not url:
        return False
    cached = _health.get(url)
    if cached and time.monotonic() - cached[1] < HEALTH_TTL_SECONDS:
        return cached[0]
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            healthy = client.api_healthcheck() is None
    except Exception:  # any failure means "not reachable"
        healthy = False
    _health[url] = (healthy, time.monotonic())
    return healthy


async def aprefect_api_available() -> bool:
    """Async twin of :func:`prefect_api_available`."""
    url = _api_url()
    if not url:
        return False
    cached = _health.get(url)
    if cached and time.monotonic() - cached[1] < HEALTH_TTL_SECONDS:
        return cached[0]
    from prefect.client.orchestration import get_client

    try:
        async with get_client() as client:
            healthy = await client.api_healthcheck() is None
    except Exception:
        healthy = False
    _health[url] = (healthy, time.monotonic())
    return healthy


# ---- the Prefect global concurrency limit, created on demand -----------------------------------
def _limit_needs(existing: object) -> bool:
    return getattr(existing, "limit", 1) != 1 or not getattr(existing, "active", True)


def ensure_limit(name: str) -> None:
    """Create (or repair) a global concurrency limit of exactly 1 slot."""
    url = _api_url() or ""
    if (url, name) in _ensured_limits:
        return
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            existing = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1, active=True)
                )
            except Exception:  # created by another process meanwhile (409, or a 500 on a race)
                client.read_global_concurrency_limit_by_name(name)
        else:
            if _limit_needs(existing):
                client.update_global_concurrency_limit(
                    name, GlobalConcurrencyLimitUpdate(limit=1, active=True)
                )
    _ensured_limits.add((url, name))


async def aensure_limit(name: str) -> None:
    """Async twin of :func:`ensure_limit`."""
    url = _api_url() or ""
    if (url, name) in _ensured_limits:
        return
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            existing = await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1, active=True)
                )
            except Exception:  # created by another process meanwhile (409, or a 500 on a race)
                await client.read_global_concurrency_limit_by_name(name)
        else:
            if _limit_needs(existing):
                await client.update_global_concurrency_limit(
                    name, GlobalConcurrencyLimitUpdate(limit=1, active=True)
                )
    _ensured_limits.add((url, name))


# ---- the cross-process layer -------------------------------------------------------------------
def _locked(exc: BaseException) -> bool:
    """The limit's one slot is taken (Prefect answered 423 Locked)."""
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 423


def _poll_delay(attempt: int) -> float:
    return _jitter.uniform(POLL_MIN_SECONDS, min(POLL_MAX_SECONDS, POLL_MIN_SECONDS * 2**attempt))


def _lease_id(response: httpx.Response) -> UUID:
    return UUID(str(response.json()["lease_id"]))


@contextmanager
def _prefect_mutex(key: str) -> Iterator[None]:
    """Hold the single slot of the connection's global concurrency limit (with a lease).

    Polls on its own short, jittered schedule: Prefect's retry hint grows with contention to
    seconds, far too slow around a token refresh. The lease outlives any bounded critical section;
    if a process dies holding it, the slot frees itself when the lease expires.
    """
    from prefect.client.orchestration import get_client

    name = limit_name(key)
    ensure_limit(name)
    deadline = time.monotonic() + ACQUIRE_TIMEOUT_SECONDS
    with get_client(sync_client=True) as client:
        attempt = 0
        while True:
            try:
                response = client.increment_concurrency_slots_with_lease(
                    names=[name], slots=1, mode="concurrency", lease_duration=LEASE_SECONDS
                )
                break
            except httpx.HTTPStatusError as exc:
                if not _locked(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(_poll_delay(attempt))
            attempt += 1
        lease_id = _lease_id(response)
        try:
            yield
        finally:
            client.release_concurrency_slots_with_lease(lease_id)


@contextmanager
def _process_lock(key: str) -> Iterator[None]:
    if prefect_api_available():
        with _prefect_mutex(key):
            yield
        return
    path = lock_file(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(path), timeout=ACQUIRE_TIMEOUT_SECONDS, thread_local=False):
        yield


@asynccontextmanager
async def _aprefect_mutex(key: str) -> AsyncIterator[None]:
    """Async twin of :func:`_prefect_mutex`."""
    from prefect.client.orchestration import get_client

    name = limit_name(key)
    await aensure_limit(name)
    deadline = time.monotonic() + ACQUIRE_TIMEOUT_SECONDS
    async with get_client() as client:
        attempt = 0
        while True:
            try:
                response = await client.increment_concurrency_slots_with_lease(
                    names=[name], slots=1, mode="concurrency", lease_duration=LEASE_SECONDS
                )
                break
            except httpx.HTTPStatusError as exc:
                if not _locked(exc) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(_poll_delay(attempt))
            attempt += 1
        lease_id = _lease_id(response)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await client.release_concurrency_slots_with_lease(lease_id)


@asynccontextmanager
async def _aprocess_lock(key: str) -> AsyncIterator[None]:
    if await aprefect_api_available():
        async with _aprefect_mutex(key):
            yield
        return
    path = lock_file(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path), timeout=ACQUIRE_TIMEOUT_SECONDS, thread_local=False)
    await anyio.to_thread.run_sync(lock.acquire)
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(lock.release)


# ---- public ------------------------------------------------------------------------------------
@contextmanager
def connection_lock(key: str) -> Iterator[None]:
    """Hold the connection's lock: this process's threads first, then other processes."""
    lock = _thread_lock(key)
    if not lock.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS):
        raise TimeoutError(f"timed out waiting for the lock of connection {key!r}")
    try:
        with _process_lock(key):
            yield
    finally:
        lock.release()


@asynccontextmanager
async def aconnection_lock(key: str) -> AsyncIterator[None]:
    """Async twin of :func:`connection_lock`; never blocks the event loop."""
    async with _loop_lock(key):
        lock = _thread_lock(key)
        # Not cancellable on purpose: a cancelled wait must not leave the lock held and orphaned.
        acquired = await anyio.to_thread.run_sync(lock.acquire, True, ACQUIRE_TIMEOUT_SECONDS)
        if not acquired:
            raise TimeoutError(f"timed out waiting for the lock of connection {key!r}")
        try:
            async with _aprocess_lock(key):
                yield
        finally:
            lock.release()
