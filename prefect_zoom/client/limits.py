"""Prefect global concurrency limits as the pack uses them: named after a Zoom account, created on
demand, taken as a rate limit (slot decay) or counted (no decay).

Every process and worker on one Prefect API sees the same limits, so what they count is counted
once for all of them. Names carry the account id and a label or a hashed host, never a secret:
``zoom-rate:<account_id>:<label>``, ``zoom-daily:<account_id>:meeting-writes:<day>:<host hash>``.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import time
from datetime import date

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
)
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import get_current_settings

from prefect_zoom._prefect_api import prefect_client
from prefect_zoom.catalog import RateLabel

ACCOUNT_BUDGET_ENV = "PREFECT_ZOOM_ACCOUNT_BUDGET"
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_.:-]")


def budget_from_env() -> bool:
    """``PREFECT_ZOOM_ACCOUNT_BUDGET``: ``off`` (or ``0``, ``false``, ``no``) turns the
    account-wide budget off; anything else, or nothing, leaves it on."""
    value = os.environ.get(ACCOUNT_BUDGET_ENV, "").strip().lower()
    return value not in ("off", "0", "false", "no")


def prefect_api_configured() -> bool:
    """Whether this process talks to a Prefect API (``PREFECT_API_URL``): without one, Prefect
    would start a server inside the process, which no other process shares."""
    return bool(get_current_settings().api.url)


def _segment(value: str) -> str:
    return _NOT_ALLOWED.sub("-", value.strip()) or "-"


def rate_limit_name(account_id: str, label: RateLabel) -> str:
    """The limit pacing one account's ``label`` requests, e.g. ``zoom-rate:abc123:medium``."""
    return f"zoom-rate:{_segment(account_id)}:{label.value.lower()}"


def daily_limit_name(account_id: str, host: str, day: date) -> str:
    """The counter of one host's meeting creates on one UTC day. The host (an id, an email or
    ``me``) is hashed: no email address shows in Prefect's UI."""
    digest = hashlib.sha256(host.strip().lower().encode()).hexdigest()[:16]
    return f"zoom-daily:{_segment(account_id)}:meeting-writes:{day.isoformat()}:{digest}"


def ensure_limit(name: str, limit: int, decay: float, *, start_full: bool = False) -> None:
    """Create the limit (``start_full``: every slot taken, so a new rate limit starts at its
    decay, without a burst), or bring an existing one to ``limit`` and, when it decays faster,
    ``decay`` (per second): a slower rate wins, as in :mod:`prefect_zoom.client.pacing`, so
    processes that learned different limits do not undo each other. Safe when several processes
    do it at once: the one that loses the race updates instead."""
    with prefect_client() as client:
        try:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(
                    name=name,
                    limit=limit,
                    slot_decay_per_second=decay,
                    active_slots=limit if start_full else 0,
                )
            )
            return
        except ObjectAlreadyExists:
            pass
        current = client.read_global_concurrency_limit_by_name(name)
        current_decay = current.slot_decay_per_second or 0.0
        if current.limit != limit or current_decay > decay:
            client.update_global_concurrency_limit(
                name, GlobalConcurrencyLimitUpdate(limit=limit, slot_decay_per_second=decay)
            )


def take_rate_slots(
    client: SyncPrefectClient, name: str, slots: int, *, retry: float, timeout: float
) -> None:
    """Take ``slots`` of a decaying limit, asking again every ``retry`` seconds (jittered) while
    they are not free: the endpoint of Prefect's ``rate_limit``, but not its wait, the server's
    ``Retry-After``, which grows with every process denied (fair, but three workers on one
    account reached 71 % of its limit). Prefect's 5xx answers (SQLite busy under many writers)
    are asked again the same way. Raises :class:`TimeoutError` after ``timeout`` seconds,
    :class:`LookupError` when the limit does not exist, and the Prefect client's errors."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = client.increment_concurrency_slots(
                names=[name], slots=slots, mode="rate_limit"
            )
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            if status != 423 and status < 500:  # 423: not free yet; 5xx: a busy database
                raise
        else:
            if not answer.json():  # Prefect "acquires" nothing from a limit that is not there
                raise LookupError(f"no global concurrency limit named {name}")
            return
        if time.monotonic() + retry > deadline:
            raise TimeoutError(f"no free slots of {name} within {timeout:.0f} s")
        time.sleep(retry * random.uniform(0.5, 1.0))


def count_one(name: str) -> bool:
    """Occupy one slot of a counter that never decays; ``False`` when it is full."""
    with prefect_client() as client:
        try:
            client.increment_concurrency_slots(names=[name], slots=1, mode="concurrency")
        except httpx.HTTPStatusError as error:
            if error.response.status_code == 423:
                return False
            raise
    return True
