"""A connection's lock taken while the Prefect API is busy (a 503: SQLite busy under many writers):
asked again after the lock's own short waits, not after Prefect's client's 2-second sleeps.

Prefect's answers come from an ``httpx.MockTransport`` (a busy SQLite server cannot be made to
answer 503 on cue); everything above the transport is the pack's and Prefect's real code."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import prefect.client.orchestration
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from prefect_zoom import _prefect_api
from prefect_zoom.auth import locks

API = "http://prefect.test/api"
BUSY_ANSWERS = 2


def busy_prefect_api(seen: list[str]) -> httpx.MockTransport:
    """A Prefect API whose lock slot answers 503 ``BUSY_ANSWERS`` times, then grants it."""
    limit = {
        "id": str(uuid.uuid4()),
        "created": datetime.now(UTC).isoformat(),
        "updated": datetime.now(UTC).isoformat(),
        "active": True,
        "name": "the-lock",
        "limit": 1,
        "active_slots": 0,
        "slot_decay_per_second": 0.0,
    }

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        seen.append(f"{request.method} {path}")
        if path.endswith("/csrf-token"):
            return httpx.Response(422, text="CSRF protection is disabled.")
        if path.endswith("/increment-with-lease"):
            if sum(p.endswith("/increment-with-lease") for p in seen) <= BUSY_ANSWERS:
                return httpx.Response(503, json={"exception_message": "Service Unavailable"})
            return httpx.Response(200, json={"lease_id": str(uuid.uuid4()), "limits": [limit]})
        if request.method == "GET" and "/v2/concurrency_limits/" in path:
            return httpx.Response(200, json=limit)
        if request.method in {"PATCH", "DELETE"}:  # the holder's record, the release
            return httpx.Response(204)
        return httpx.Response(200, json={})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("asking", [True, False], ids=["pack", "prefect-client-control"])
def test_a_busy_prefect_api_is_asked_again_after_the_locks_own_short_waits(
    monkeypatch: pytest.MonkeyPatch, asking: bool
) -> None:
    """Two 503s, then the slot: the lock sleeps only its own poll delays (at most
    ``POLL_MAX_SECONDS``); with Prefect's own client (the control) the same answers cost its
    2-second sleeps."""
    seen: list[str] = []
    slept: list[float] = []
    use_busy_prefect_api(monkeypatch, seen)
    monkeypatch.setattr(time, "sleep", slept.append)
    if not asking:
        monkeypatch.setattr(locks, "asking_client", _prefect_api.prefect_client)
    with temporary_settings({PREFECT_API_URL: API}):
        slot = locks._take_prefect_slot(f"busy-{uuid.uuid4().hex[:8]}", API)
        slot.release()
        # busy for a moment is not an outage: a refused refresh would not wait for newer tokens
        assert not locks.api_trouble_within(60)
    assert sum(p.endswith("/increment-with-lease") for p in seen) == BUSY_ANSWERS + 1
    if asking:
        assert len(slept) == BUSY_ANSWERS, slept
        assert max(slept) <= locks.POLL_MAX_SECONDS, slept
    else:
        assert max(slept) >= 1.0, slept


def test_5xx_answers_that_go_on_for_busy_seconds_count_as_an_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second of two 503s comes more than ``BUSY_SECONDS`` (here a nanosecond) after the
    first: from then on a refused refresh waits for a newer token another machine may save."""
    use_busy_prefect_api(monkeypatch, [])
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    monkeypatch.setattr(locks, "BUSY_SECONDS", 1e-9)
    with temporary_settings({PREFECT_API_URL: API}):
        slot = locks._take_prefect_slot(f"busy-{uuid.uuid4().hex[:8]}", API)
        slot.release()
        assert locks.api_trouble_within(60)


def use_busy_prefect_api(monkeypatch: pytest.MonkeyPatch, seen: list[str]) -> None:
    """Every Prefect client made from now on talks to :func:`busy_prefect_api`."""
    transport = busy_prefect_api(seen)
    real = prefect.client.orchestration.get_client

    def with_transport(
        httpx_settings: dict[str, Any] | None = None, sync_client: bool = True
    ) -> Any:
        return real(
            httpx_settings={**(httpx_settings or {}), "transport": transport}, sync_client=True
        )

    monkeypatch.setattr(prefect.client.orchestration, "get_client", with_transport)
