"""Zoom's daily cap of meeting creates and updates per host, counted across runs and workers.

Zoom allows 100 meeting creates and updates a day per host user, reset at 00:00 UTC
(``docs/zoom-behaviour.md``, "Rate limits"). Each write is counted, before it is sent, in a
Prefect global concurrency limit of 100 slots that never decay, one per account, host and UTC
day (:func:`prefect_zoom.client.limits.daily_limit_name`): every process and worker shares it, and
the 101st create is refused without a request, with a
:class:`~prefect_zoom.exceptions.ZoomRateLimitError` (``limit_type="Daily-limit"``) saying when
to resume. Zoom's own counter is only seen in the 429 that comes after the cap is spent, so
counting there would cost one refused request per host and run instead of none.

A create names its host in its path (``/users/{userId}/meetings``); ``me`` counts as the
connection's own user when the client knows it (a connection served by name learns it with its
account, :mod:`prefect_zoom.connections`), and an email as itself. An update
(``PATCH /meetings/{meetingId}``) does not name its host: the ``update_meeting`` task reads the
meeting first when writes are counted and counts it against the meeting's ``host_id``; a raw
``PATCH`` sent with the client is not counted (Zoom's own ``Daily-limit`` 429 still stops it).
When the Prefect API fails, writes are sent uncounted (a warning is logged once) and Zoom's 429
is the limit.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, time, timedelta

from prefect_zoom.client.limits import count_one, daily_limit_name, ensure_limit
from prefect_zoom.exceptions import ZoomRateLimitError

logger = logging.getLogger("prefect_zoom.client")

MEETING_WRITES_PER_DAY = 100
"""Zoom's meeting creates and updates per host user and UTC day."""


def next_reset(day: date) -> datetime:
    """00:00 UTC after ``day``: when Zoom's daily counters start again."""
    return datetime.combine(day + timedelta(days=1), time.min, UTC)


class DailyMeetingCap:
    """Counts meeting creates and updates per account, host and UTC day in Prefect; thread-safe."""

    def __init__(self, limit: int = MEETING_WRITES_PER_DAY) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._ensured: set[str] = set()
        self._full: set[str] = set()
        self._warned = False

    def count(self, account_id: str, host: str, *, method: str, path: str) -> None:
        """Count one create or update by ``host``, or raise :class:`ZoomRateLimitError` when the
        host's day is spent."""
        today = datetime.now(UTC).date()
        name = daily_limit_name(account_id, host, today)
        with self._lock:
            spent = name in self._full
        if not spent:
            try:
                if name not in self._ensured:
                    ensure_limit(name, self.limit, 0.0)
                    with self._lock:
                        self._ensured.add(name)
                spent = not count_one(name)
            except Exception as exc:  # the Prefect API is down or refuses: Zoom's 429 limits
                self._warn(exc)
                return
        if spent:
            with self._lock:
                self._full.add(name)
            reset = next_reset(today)
            raise ZoomRateLimitError(
                f"The daily limit of {self.limit} meeting creates and updates for host {host} "
                "is spent (counted by every run and worker of this account); not sent to Zoom.",
                limit_type="Daily-limit",
                reset_at=reset,
                category="Medium",
                status=429,
                method=method,
                path=path,
                hint=f"Zoom resets it at 00:00 UTC; resume after {reset.isoformat()}.",
            )

    def _warn(self, exc: BaseException) -> None:
        with self._lock:
            warn, self._warned = not self._warned, True
        if warn:
            logger.warning(
                "Meeting writes are not counted across workers: the Prefect API failed (%s). "
                "Zoom's own daily-limit answer still stops them.",
                type(exc).__name__,
            )

    def clear(self) -> None:
        """Forget what this process knows (tests)."""
        with self._lock:
            self._ensured.clear()
            self._full.clear()
            self._warned = False


DAILY_CAP = DailyMeetingCap()
"""The process-wide counter every client uses."""
