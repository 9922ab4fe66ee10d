"""Client-side pacing to Zoom's per-second limits: the pacer, the registry, and the clients."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from prefect_zoom.auth.manager import StaticToken
from prefect_zoom.catalog import RateLabel
from prefect_zoom.client import AsyncZoomClient, RetryPolicy, ZoomClient
from prefect_zoom.client.pacing import PACE_SHARE, PACERS, Pacer, PacerRegistry, plan_from_env
from zoom_emulator import EmulatorConfig, ZoomEmulator


@pytest.fixture(autouse=True)
def fresh_pacers() -> Iterator[None]:
    PACERS.clear()
    yield
    PACERS.clear()


def test_a_pacer_spaces_its_slots() -> None:
    pacer = Pacer(20)
    waits = [pacer.reserve(now=100.0) for _ in range(5)]
    step = 1 / (20 * PACE_SHARE)
    assert waits == pytest.approx([0, step, 2 * step, 3 * step, 4 * step])
    # time went by with nothing sent: the next slot is free at once
    assert pacer.reserve(now=200.0) == 0
    with pytest.raises(ValueError):
        Pacer(0)


def test_no_slot_is_handed_out_twice_across_threads() -> None:
    pacer = Pacer(1000)
    waits: list[float] = []
    guard = threading.Lock()

    def take() -> None:
        for _ in range(50):
            wait = pacer.reserve(now=5.0)
            with guard:
                waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(round(w, 9) for w in waits)) == 200


def test_the_registry_paces_by_plan_or_by_what_a_429_said() -> None:
    registry = PacerRegistry()
    assert registry.get("http://a", RateLabel.MEDIUM, None) is None
    pro = registry.get("http://a", RateLabel.MEDIUM, "pro")
    assert pro is not None and pro.rate == 20
    assert registry.get("http://a", RateLabel.MEDIUM, "pro") is pro  # one pacer, kept
    assert registry.get("http://b", RateLabel.MEDIUM, None) is None  # per API address

    learned = registry.learn("http://b", "medium", "7")
    assert learned is not None and learned.rate == 7
    assert registry.get("http://b", RateLabel.MEDIUM, None) is learned
    assert registry.get("http://b", RateLabel.MEDIUM, "business") is learned  # lower wins
    assert registry.learn("http://b", "Medium", "60") is learned  # never speeds up
    assert registry.learn("http://b", "Heavy", None) is None
    assert registry.learn("http://b", "Resource-intensive", "10") is None  # per minute
    assert registry.learn("http://b", "Other", "10") is None


def test_the_plan_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_ZOOM_RATE_PLAN", "Pro")
    assert plan_from_env() == "pro"
    assert RetryPolicy().rate_plan == "pro"
    monkeypatch.setenv("PREFECT_ZOOM_RATE_PLAN", "enterprise-ish")
    assert plan_from_env() is None
    monkeypatch.delenv("PREFECT_ZOOM_RATE_PLAN")
    assert RetryPolicy().rate_plan is None


def _rate_limited_once() -> httpx.MockTransport:
    calls = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        calls[0] += 1
        if calls[0] == 1:
            return httpx.Response(
                429,
                json={"code": 429, "message": "rate"},
                headers={
                    "X-RateLimit-Type": "QPS",
                    "X-RateLimit-Category": "Medium",
                    "X-RateLimit-Limit": "20",
                    "Retry-After": "0",
                },
            )
        return httpx.Response(200, json={"meetings": []})

    return httpx.MockTransport(handler)


def test_a_429_teaches_the_client_to_pace_that_label() -> None:
    policy = RetryPolicy(rate_limit_jitter=0.0, rate_plan=None)
    with ZoomClient(
        "http://zoom.test/v2", StaticToken("t"), policy=policy, transport=_rate_limited_once()
    ) as zoom:
        zoom.get_json("/users/me/recordings", operation="list_user_recordings")
        pacer = PACERS.get("http://zoom.test/v2", RateLabel.MEDIUM, None)
        assert pacer is not None and pacer.rate == 20
        assert PACERS.get("http://zoom.test/v2", RateLabel.LIGHT, None) is None


def test_learning_can_be_turned_off() -> None:
    policy = RetryPolicy(rate_limit_jitter=0.0, rate_plan=None, learn_rate_limits=False)
    with ZoomClient(
        "http://zoom.test/v2", StaticToken("t"), policy=policy, transport=_rate_limited_once()
    ) as zoom:
        zoom.get_json("/users/me/recordings", operation="list_user_recordings")
    assert PACERS.get("http://zoom.test/v2", RateLabel.MEDIUM, None) is None


async def test_the_async_client_learns_too() -> None:
    policy = RetryPolicy(rate_limit_jitter=0.0, rate_plan=None)
    async with AsyncZoomClient(
        "http://zoom.test/v2", StaticToken("t"), policy=policy, transport=_rate_limited_once()
    ) as zoom:
        await zoom.get_json("/users/me/recordings", operation="list_user_recordings")
    assert PACERS.get("http://zoom.test/v2", RateLabel.MEDIUM, None) is not None


def test_downloads_are_paced_as_light_and_unnamed_requests_not_at_all() -> None:
    """Several workers archiving at once must stay under the account's limit for downloads too
    (the emulator limits them as Light); a request without an operation has no label."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json={})

    policy = RetryPolicy(rate_plan="pro")
    with ZoomClient(
        "http://zoom.test/v2",
        StaticToken("t"),
        policy=policy,
        transport=httpx.MockTransport(handler),
    ) as zoom:
        zoom.get_json("/users/me")  # no operation: nothing to pace by
        assert PACERS.get("http://zoom.test/v2", RateLabel.LIGHT, None) is None
        with zoom.stream(
            "GET", "http://zoom.test/rec/download/x", operation="download_recording_file"
        ):
            pass
    light = PACERS.get("http://zoom.test/v2", RateLabel.LIGHT, None)
    assert light is not None and light.rate == 30  # Pro's Light limit
    assert len(sent) == 2


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(rate_limits="pro", seed_users=1, recordings_per_user=0)


def test_paced_calls_stay_under_the_emulators_limit(zoom_emulator: ZoomEmulator) -> None:
    """Eight threads, 40 Medium calls with the Pro plan: none fails, (almost) none is refused."""
    from helpers.connections import s2s_credentials

    block = s2s_credentials(zoom_emulator)
    failures: list[BaseException] = []
    remaining = [40]
    guard = threading.Lock()

    with block.get_client(policy=RetryPolicy(rate_plan="pro")) as zoom:
        zoom.get_json("/users/me", operation="get_user")  # the token first

        def loop() -> None:
            while True:
                with guard:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                try:
                    zoom.get_json("/users/me/recordings", operation="list_user_recordings")
                except Exception as exc:  # pragma: no cover - reported below
                    failures.append(exc)

        threads = [threading.Thread(target=loop) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert failures == []
    # An unpaced client gets about one 429 per thread per second here; paced, a stalled machine
    # may still push a request or two into the next window.
    assert zoom_emulator.state.counters["rate_limited"] <= 2
