"""The account-wide rate budget: one Zoom account's requests per label, paced across every process
and worker that shares a Prefect API.

Zoom's per-second limits are per account (``docs/zoom-behaviour.md``, "Rate limits"), so three
workers that each pace to the whole limit send three times too much. An :class:`AccountBudget`
takes the account's requests from a Prefect global concurrency limit used as a rate limit
(:func:`prefect_zoom.client.limits.rate_limit_name`; created on demand), whose slots decay at
the paced rate:

* **batches**: a background thread takes :data:`BATCH` requests' worth of slots at a time and the
  process spends them locally, so a request costs a lock and a counter, not a Prefect round
  trip; the next batch is asked for before the last one is spent.
* **hundredths**: each request is :data:`SLOT_SCALE` slots. Prefect decays whole slots from the
  last change of the limit; with 100 per request, a change every few milliseconds loses at most
  1 % of a request instead of a whole one.
* **expiry**: slots not spent within :data:`BATCH_LIFETIME` seconds are dropped, so a process
  idle for a while cannot send an old batch on top of what others took since.
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
import threading
import time

from prefect_zoom.catalog import RateLabel
from prefect_zoom.client.limits import ensure_limit, rate_limit_name, take_rate_slots
from prefect_zoom.client.pacing import PACE_SHARE

logger = logging.getLogger("prefect_zoom.client")

SLOT_SCALE = 100
"""Prefect slots per Zoom request."""
BATCH = 4
"""Requests taken from the account's limit at once."""
BATCHES_IN_FLIGHT = 2
"""Batches the limit holds at once: one being spent while the next is granted."""
BATCH_LIFETIME = 2.0
"""Seconds a batch may be spent for, beyond the time its slots take to decay."""
ACQUIRE_TIMEOUT = 10.0
"""Seconds to wait for a batch before taking the Prefect API as failed."""
FALLBACK_SECONDS = 30.0
"""Seconds of local pacing only after the Prefect API failed, before trying it again."""
POLL = 0.005
"""Seconds a request waits before looking again when its process holds no slot."""


class AccountBudget:
    """One account's requests of one label, taken from Prefect in batches; thread-safe."""

    def __init__(self, account_id: str, label: RateLabel, rate: float) -> None:
        self.name = rate_limit_name(account_id, label)
        self.rate = rate
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._slots = 0
        self._expires = 0.0
        self._fallback_until = 0.0
        self._warned = False
        self._ensured_decay: float | None = None
        self._thread: threading.Thread | None = None

    @property
    def decay(self) -> float:
        """Slots the limit frees a second: the paced rate, in hundredths of a request."""
        return self.rate * PACE_SHARE * SLOT_SCALE

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
                if self._slots <= BATCH // 2:
                    self._wake()
                return 0.0
            self._wake()
            return POLL

    def _wake(self) -> None:
        """Ask the refill thread for the next batch (started on first use)."""
        self._wanted.set()
        if self._thread is None:  # with the caller's context: its Prefect settings
            self._thread = threading.Thread(
                target=contextvars.copy_context().run,
                args=(self._refill,),
                name=f"zoom-budget {self.name}",
                daemon=True,
            )
            self._thread.start()

    def _refill(self) -> None:
        while True:
            self._wanted.wait()
            with self._lock:
                if self._slots > BATCH // 2 and time.monotonic() <= self._expires:
                    self._wanted.clear()
                    continue
                decay = self.decay
            try:
                if self._ensured_decay != decay:
                    ensure_limit(self.name, BATCH * BATCHES_IN_FLIGHT * SLOT_SCALE, decay)
                    self._ensured_decay = decay
                take_rate_slots(self.name, BATCH * SLOT_SCALE, ACQUIRE_TIMEOUT)
            except Exception as exc:  # the Prefect API is down, slow or refuses: pace locally
                self._fall_back(exc)
                continue
            with self._lock:
                spend_for = BATCH / (self.rate * PACE_SHARE) + BATCH_LIFETIME
                self._slots += BATCH
                self._expires = time.monotonic() + spend_for
                if self._warned:
                    logger.warning("Prefect's rate limit %s answers again", self.name)
                    self._warned = False

    def _fall_back(self, exc: BaseException) -> None:
        with self._lock:
            self._ensured_decay = None  # the limit may be gone when the API is back
            self._fallback_until = time.monotonic() + FALLBACK_SECONDS
            warn, self._warned = not self._warned, True
        if warn:
            logger.warning(
                "The account-wide rate budget %s could not use the Prefect API (%s); pacing "
                "this process alone for %.0f s. Zoom's 429 answers are still waited out.",
                self.name,
                type(exc).__name__,
                FALLBACK_SECONDS,
            )
        time.sleep(FALLBACK_SECONDS)


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

    def clear(self) -> None:
        """Forget every budget (tests); their threads idle until the process ends."""
        with self._lock:
            self._budgets.clear()


BUDGETS = BudgetRegistry()
"""The process-wide registry every client uses."""
