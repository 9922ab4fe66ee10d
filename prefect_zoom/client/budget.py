"""The account-wide rate budget: one Zoom account's requests per label, paced across every process
and worker that shares a Prefect API.

Zoom's per-second limits are per account (``docs/zoom-behaviour.md``, "Rate limits"), so three
workers that each pace to the whole limit send three times too much. An :class:`AccountBudget`
takes the account's requests from a Prefect global concurrency limit used as a rate limit
(:func:`prefect_zoom.client.limits.rate_limit_name`; created on demand), whose slots decay at
the paced rate:

* **batches**: a background thread takes a batch of requests' slots at a time (a tenth of a
  second of the limit, at least 2: 2 for Pro's 20 Medium requests a second, 8 for Business's 80
  Light ones) and the process spends them locally, so a request costs a lock and a counter, not
  a Prefect round trip; the next batch is asked for while one is left. The limit holds
  two batches, so one can be granted while the other is spent, and no more: bursts stay small.
* **thousandths**: each request is :data:`SLOT_SCALE` slots. Prefect decays whole slots from
  the last change of the limit (a denied request is a change too); with 1,000 per request, each
  change loses at most a thousandth of a request instead of up to a whole one.
* **asking**: the pack calls the endpoint of Prefect's ``rate_limit`` itself and asks again
  every batch's decay time: Prefect's own wait (the server's ``Retry-After``, which grows with
  every process denied) held three workers to 71 % of the limit. The limit starts full, so the
  first second after it is made carries no burst; a lower rate (learned from a 429) wins over a
  higher one: after a plan upgrade, delete the limit in Prefect's UI.
* **busy answers**: a 503 (SQLite busy) is asked again after the same short wait as a denied
  ask, not after Prefect's client's own 2 s (:func:`prefect_zoom._prefect_api.asking_client`).
* **waiting**: a request that finds no slot looks again after :data:`POLL` seconds, then twice
  as long each time, up to half a batch's decay: a hundred waiting tasks do not keep a core busy.
* **expiry**: slots not spent within the time they take to decay plus :data:`BATCH_GRACE`
  seconds are dropped, so a slow or idle process cannot send an old batch on top of what others
  took since.
* **fallback**: when the Prefect API fails or does not answer in :data:`ACQUIRE_TIMEOUT` seconds,
  the budget logs a warning once and lets requests through for :data:`FALLBACK_SECONDS`
  (the process's own pacer still spaces them), then tries Prefect again. A rate budget never
  stops Zoom calls.

Each process still paces its own requests (:mod:`prefect_zoom.client.pacing`); the budget comes
first. Labels paced per minute (Resource-intensive) are left to the process's pacer.
"""

from __future__ import annotations

import contextvars
import logging
import math
import threading
import time
from collections.abc import Iterator

from prefect.client.orchestration import SyncPrefectClient
from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

from prefect_zoom._prefect_api import asking_client
from prefect_zoom.catalog import RateLabel
from prefect_zoom.client.limits import ensure_limit, rate_limit_name, take_rate_slots
from prefect_zoom.client.pacing import RATE_TABLE

logger = logging.getLogger("prefect_zoom.client")

BUDGET_SHARE = 0.94
"""Share of Zoom's limit the account's slots decay at (the process's own spacing aims at 95 %).
At 0.97 three processes sent 21 requests in some fixed seconds (20 allowed): 4 of 304 answered
429 in one benchmark run; at 0.94, none in two, at the same throughput."""
SLOT_SCALE = 1000
"""Prefect slots per Zoom request."""
BATCH_SECONDS = 0.1
"""A batch is this many seconds of the paced rate (at least :data:`MIN_BATCH` requests)."""
MIN_BATCH = 2
BATCHES_IN_FLIGHT = 2
"""Batches the limit holds at once: one being spent while the next is granted."""
BATCH_GRACE = 1.5
"""Seconds a batch may be spent for, beyond the time its slots take to decay."""
ACQUIRE_TIMEOUT = 15.0
"""Seconds a request waits for a batch before the Prefect API is taken as failed (down, or too
slow to answer); its errors end the wait at once."""
FALLBACK_SECONDS = 30.0
"""Seconds of local pacing only after the Prefect API failed, before trying it again."""
POLL = 0.005
"""Seconds a request waits before it first looks again when its process holds no slot."""


class AccountBudget:
    """One account's requests of one label, taken from Prefect in batches; thread-safe."""

    def __init__(self, account_id: str, label: RateLabel, rate: float) -> None:
        self.name = rate_limit_name(account_id, label)
        self.rate = rate
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._closed = threading.Event()
        self._slots = 0
        self._expires = 0.0
        self._fallback_until = 0.0
        self._warned = False
        self._ensured_decay: float | None = None
        self._asking_since: float | None = None
        self._thread: threading.Thread | None = None

    @property
    def batch(self) -> int:
        """Requests taken from Prefect at once."""
        return max(MIN_BATCH, math.ceil(self.rate * BATCH_SECONDS))

    @property
    def decay(self) -> float:
        """Slots the limit frees a second: the paced rate, in thousandths of a request."""
        return self.rate * BUDGET_SHARE * SLOT_SCALE

    def retune(self, rate: float) -> None:
        """Pace to a lower rate (a limit learned from Zoom's 429); the limit is updated."""
        with self._lock:
            if rate < self.rate:
                self.rate = rate

    def take(self) -> float:
        """Take one request's slot: ``0.0`` when taken (or when Prefect is out, see
        ``fallback``), else the seconds to wait before asking again."""
        now = time.monotonic()
        with self._lock:
            if now < self._fallback_until:
                return 0.0
            if self._slots and now > self._expires:
                self._slots = 0
            if self._slots > 0:
                self._slots -= 1
                if self._slots <= self.batch:
                    self._wake()
                return 0.0
            self._wake()
            if self._asking_since is not None and now - self._asking_since > ACQUIRE_TIMEOUT:
                self._fallback_until = now + FALLBACK_SECONDS  # the thread goes on trying
                self._warn(TimeoutError(f"no answer in {ACQUIRE_TIMEOUT:.0f} s"))
                return 0.0
            return POLL

    def waits(self) -> Iterator[float]:
        """The waits before one request's slot is taken (none when the process holds one):
        :data:`POLL` seconds, then twice as long each time, up to half a batch's decay."""
        poll = POLL
        while self.take() > 0:
            yield poll
            poll = min(2 * poll, self.batch / (2 * self.rate))

    def prepare(self) -> None:
        """Start the refill thread: its Prefect client and the limit are made before the first
        request needs them."""
        with self._lock:
            self._start()

    def _wake(self) -> None:
        """Ask the refill thread for the next batch (started on first use)."""
        self._wanted.set()
        self._start()

    def _start(self) -> None:
        if self._thread is None:  # with the caller's context: its Prefect settings
            self._thread = threading.Thread(
                target=contextvars.copy_context().run,
                args=(self._refill,),
                name=f"zoom-budget {self.name}",
                daemon=True,
            )
            self._thread.start()

    def close(self) -> None:
        """End the refill thread (it stops before its next request to Prefect)."""
        self._closed.set()
        self._wanted.set()

    def _refill(self) -> None:
        while not self._closed.is_set():
            try:  # a failed request is not retried by Prefect's client: the budget falls back
                with (
                    temporary_settings({PREFECT_CLIENT_MAX_RETRIES: 0}),
                    asking_client() as client,
                ):
                    self._ensure()
                    while not self._closed.is_set():
                        self._refill_once(client)
            except Exception as exc:  # the Prefect API is down, slow or refuses: pace locally
                if not self._closed.is_set():
                    self._fall_back(exc)

    def _refill_once(self, client: SyncPrefectClient) -> None:
        """Wait until slots are wanted, then take one batch from Prefect."""
        self._wanted.wait()
        if self._closed.is_set():
            return
        with self._lock:
            batch = self.batch
            if self._slots > batch and time.monotonic() <= self._expires:
                self._wanted.clear()
                return
        self._ensure()
        retry = batch / (self.rate * BUDGET_SHARE)  # one batch's decay
        self._asking_since = time.monotonic()
        take_rate_slots(client, self.name, batch * SLOT_SCALE, retry=retry, timeout=ACQUIRE_TIMEOUT)
        with self._lock:
            self._asking_since = None
            self._slots += batch
            spend_for = self._slots / (self.rate * BUDGET_SHARE) + BATCH_GRACE
            self._expires = time.monotonic() + spend_for
            if self._warned:
                logger.warning("Prefect's rate limit %s answers again", self.name)
                self._warned = False

    def _ensure(self) -> None:
        """Create the account's limit, or update it to this process's rate, once."""
        batch, decay = self.batch, self.decay
        if self._ensured_decay != decay:
            ensure_limit(self.name, batch * BATCHES_IN_FLIGHT * SLOT_SCALE, decay, start_full=True)
            self._ensured_decay = decay

    def _fall_back(self, exc: BaseException) -> None:
        with self._lock:
            self._ensured_decay = None  # the limit may be gone when the API is back
            self._asking_since = None
            self._fallback_until = time.monotonic() + FALLBACK_SECONDS
            self._warn(exc)
        self._closed.wait(FALLBACK_SECONDS)

    def _warn(self, exc: BaseException) -> None:
        """Log the fallback, once until Prefect answers again (called under the lock)."""
        warn, self._warned = not self._warned, True
        if warn:
            logger.warning(
                "The account-wide rate budget %s could not use the Prefect API (%s); pacing "
                "this process alone for %.0f s. Zoom's 429 answers are still waited out.",
                self.name,
                _describe(exc),
                FALLBACK_SECONDS,
            )


def _describe(exc: BaseException) -> str:
    """An error's kind, and the HTTP status of a refused request (no URL, no body)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return f"{type(exc).__name__} {status}" if status else type(exc).__name__


class BudgetRegistry:
    """The process's budgets by (account id, label)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, RateLabel], AccountBudget] = {}

    def get(self, account_id: str, label: RateLabel, rate: float) -> AccountBudget | None:
        """The budget of an account's label paced at ``rate`` requests a second (``None`` for
        labels limited per minute)."""
        if label is RateLabel.RESOURCE_INTENSIVE:
            return None
        key = (account_id, label)
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                budget = self._budgets[key] = AccountBudget(account_id, label, rate)
        budget.retune(rate)
        return budget

    def prepare(self, account_id: str, plan: str) -> None:
        """Make ready the budgets of every label of a plan (see :meth:`AccountBudget.prepare`)."""
        for label, rate in RATE_TABLE[plan].items():
            if (budget := self.get(account_id, label, rate)) is not None:
                budget.prepare()

    def clear(self) -> None:
        """Forget every budget and end their threads (tests)."""
        with self._lock:
            budgets, self._budgets = list(self._budgets.values()), {}
        for budget in budgets:
            budget.close()


BUDGETS = BudgetRegistry()
"""The process-wide registry every client uses."""
