"""Zoom's rate limits: per account and endpoint label, daily caps, and 100 meeting writes a day per host."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from zoom_emulator.models.errors import ZoomError
from zoom_emulator.models.operations import Operation
from zoom_emulator.models.state import now

if TYPE_CHECKING:
    from zoom_emulator.models.state import EmulatorState

# Zoom's limits per account: plan -> label -> (requests, window in seconds), a daily cap shared
# by Heavy and Resource-intensive calls, and meeting create/update per host user and day.
# Sources: https://developers.zoom.us/docs/api/rate-limits/ (labels, plans, daily caps) and Zoom
# staff on https://devforum.zoom.us/t/rate-limits-which-ones-apply/19474 (100 meeting writes).
PLANS: dict[str, dict[str, tuple[int, int]]] = {
    "pro": {"Light": (30, 1), "Medium": (20, 1), "Heavy": (10, 1), "Resource-intensive": (10, 60)},
    "business": {
        "Light": (80, 1),
        "Medium": (60, 1),
        "Heavy": (40, 1),
        "Resource-intensive": (20, 60),
    },
}
DAILY_CAPPED_LABELS = frozenset({"Heavy", "Resource-intensive"})
DAILY_HEAVY_CAP = {"pro": 30_000, "business": 60_000}
MEETING_WRITES_PER_DAY = 100

QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
MEETING_DAILY_MESSAGE = (
    "You have exceeded the daily rate limit ({limit}) of Meeting Create/Update API requests "
    "permitted for this particular user. You may resume these requests at GMT 00:00:00."
)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_midnight_utc() -> float:
    today = datetime.now(UTC).date()
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    return midnight.timestamp()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


class RateLimiter:
    """Fixed-window counters, as many as Zoom keeps: by account and label, by day, by host."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._windows: dict[tuple[str, str, int], int] = defaultdict(int)
        self._daily: dict[tuple[str, str], int] = defaultdict(int)
        self._meeting_writes: dict[tuple[str, str], int] = defaultdict(int)
        self._spend_on_arrival: dict[tuple[str, str], int] = {}

    @property
    def plan(self) -> str:
        return self.state.config.rate_limits

    def spend_on_arrival(self, account_id: str, label: str, windows: int = 1) -> None:
        """Make the account's next ``label`` call arrive in a spent window: its window and the
        ``windows - 1`` after it are filled the moment it comes, so it and any retry inside them
        get a 429, however long the caller takes to send it. For tests of 429 handling."""
        self._spend_on_arrival[(account_id, label)] = windows

    def check(self, account_id: str, operation: Operation) -> None:
        """Count one request; raise Zoom's 429 when it goes over a limit."""
        if self.plan == "off":
            return
        limit, window = PLANS[self.plan][operation.label]
        moment = now()
        slot = math.floor(moment / window)
        spent = self._spend_on_arrival.pop((account_id, operation.label), 0)
        for later in range(slot, slot + spent):
            self._windows[(account_id, operation.label, later)] = limit
        key = (account_id, operation.label, slot)
        if self._windows[key] >= limit:
            self._reject(
                QPS_MESSAGE,
                category=operation.label,
                kind="QPS",
                limit=limit,
                retry_at=(slot + 1) * window,
            )
        self._windows[key] += 1
        if operation.label in DAILY_CAPPED_LABELS:
            day_key = (account_id, _today())
            cap = DAILY_HEAVY_CAP[self.plan]
            if self._daily[day_key] >= cap:
                self._reject(
                    "You have reached the maximum daily rate limit for this API.",
                    category=operation.label,
                    kind="Daily-limit",
                    limit=cap,
                    retry_at=_next_midnight_utc(),
                )
            self._daily[day_key] += 1
        if len(self._windows) > 10_000:
            self._windows = defaultdict(
                int, {k: v for k, v in self._windows.items() if k[2] >= slot}
            )

    def count_meeting_write(self, host_id: str) -> None:
        """Meeting create/update: at most 100 a day per host user, reset at 00:00 UTC."""
        if self.plan == "off":
            return
        key = (host_id, _today())
        if self._meeting_writes[key] >= MEETING_WRITES_PER_DAY:
            self._reject(
                MEETING_DAILY_MESSAGE.format(limit=MEETING_WRITES_PER_DAY),
                category="Medium",
                kind="Daily-limit",
                limit=MEETING_WRITES_PER_DAY,
                retry_at=_next_midnight_utc(),
            )
        self._meeting_writes[key] += 1

    def _reject(
        self, message: str, *, category: str, kind: str, limit: int, retry_at: float
    ) -> None:
        self.state.counters["rate_limited"] += 1
        self.state.counters[f"rate_limited {kind}"] += 1
        raise ZoomError(
            429,
            429,
            message,
            headers={
                "X-RateLimit-Category": category,
                "X-RateLimit-Type": kind,
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "Retry-After": _iso(retry_at),
            },
        )
