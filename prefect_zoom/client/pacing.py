"""Client-side pacing: send API requests no faster than Zoom's per-second limit for their label.

Zoom limits requests per **account** and endpoint label (``docs/zoom-behaviour.md``, "Rate
limits"), e.g. 20 Medium requests a second on Pro. A client that only reacts to ``429`` lets every concurrent caller
run into the limit once a second; pacing spaces the requests so they fit under it instead.

A :class:`Pacer` is shared by every client of the process that talks to the same API address,
per label. It starts in either of two ways:

* **a plan**: ``RetryPolicy(rate_plan="pro")`` (or ``"business"``), or the environment variable
  ``PREFECT_ZOOM_RATE_PLAN=pro`` for every client whose policy does not set one: requests are
  paced from the first one;
* **learned**: after a per-second ``429`` that names its label and limit
  (``X-RateLimit-Category`` and ``X-RateLimit-Limit``), that label is paced from then on (unless
  ``RetryPolicy(learn_rate_limits=False)``).

Requests are spaced at ``1 / (limit * PACE_SHARE)`` seconds. Downloads (absolute URLs, not API
paths) are never paced. Pacing is per process; with a Prefect API and a known account, every
process first takes its requests from the account's budget (:mod:`prefect_zoom.client.budget`),
so together they stay under Zoom's limit. Without one, several processes on one account share
Zoom's limit without knowing it, and the retry policy handles the ``429`` that follow.

The plan may also come from the connection block's ``rate_plan`` field.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Literal

from prefect_zoom.catalog import RATE_LIMITS, RateLabel

RatePlan = Literal["pro", "business"]
RATE_PLAN_ENV = "PREFECT_ZOOM_RATE_PLAN"

RATE_TABLE: dict[str, dict[RateLabel, float]] = {
    plan: {label: count / window for label, (count, window) in labels.items()}
    for plan, labels in RATE_LIMITS.items()
}
"""Requests per second by plan and label (Zoom's table)."""
PACE_SHARE = 0.95
"""Share of the limit the pacer aims at: a little headroom for network jitter."""


def plan_from_env() -> RatePlan | None:
    """The plan named by ``PREFECT_ZOOM_RATE_PLAN`` (``pro`` or ``business``), else ``None``."""
    value = os.environ.get(RATE_PLAN_ENV, "").strip().lower()
    if value in ("pro", "business"):
        return value  # type: ignore[return-value]
    return None


class Pacer:
    """Hands out send times at most ``rate`` per second, thread-safe (async callers too)."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = rate
        self._lock = threading.Lock()
        self._next = 0.0

    @property
    def interval(self) -> float:
        return 1.0 / (self.rate * PACE_SHARE)

    def reserve(self, now: float | None = None) -> float:
        """Take the next send slot; returns the seconds to wait before sending (0 when free)."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            slot = max(moment, self._next)
            self._next = slot + self.interval
        return slot - moment


class PacerRegistry:
    """The process's pacers by (API address, label)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pacers: dict[tuple[str, RateLabel], Pacer] = {}

    def get(self, api_base_url: str, label: RateLabel, plan: str | None) -> Pacer | None:
        """The pacer of a label: from the plan when one is given, else one learned, else none."""
        key = (api_base_url, label)
        with self._lock:
            pacer = self._pacers.get(key)
            if plan is not None and plan in RATE_TABLE:
                rate = RATE_TABLE[plan][label]
                if pacer is None or pacer.rate > rate:  # a lower learned limit wins
                    pacer = self._pacers[key] = Pacer(rate)
            return pacer

    def learn(self, api_base_url: str, category: str | None, limit: str | None) -> Pacer | None:
        """Start (or slow down) pacing a label after a per-second 429 naming it and its limit."""
        wanted = str(category or "").strip().lower()
        label = next((item for item in RateLabel if item.value.lower() == wanted), None)
        try:
            rate = float(str(limit or "").strip())
        except ValueError:
            return None
        if label is None or label is RateLabel.RESOURCE_INTENSIVE or rate <= 0:
            return None  # unknown label, or a per-minute limit: the retry policy waits it out
        key = (api_base_url, label)
        with self._lock:
            pacer = self._pacers.get(key)
            if pacer is None or pacer.rate > rate:
                pacer = self._pacers[key] = Pacer(rate)
            return pacer

    def clear(self) -> None:
        """Forget every pacer (tests)."""
        with self._lock:
            self._pacers.clear()


PACERS = PacerRegistry()
"""The process-wide registry every client uses."""
