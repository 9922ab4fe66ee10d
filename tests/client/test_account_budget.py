"""The account-wide rate budget and daily meeting cap: real worker processes, one emulator on Zoom's
Pro limits, one started ``prefect server`` they share (``prefect_zoom/client/budget.py``,
``client/daily.py``)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import httpx
import pytest
from helpers.budget_worker import run_workers
from helpers.connections import mint_token, oauth_credentials, s2s_credentials
from helpers.prefect_server import (
    PREFECT,
    SAVE_BLOCK,
    prefect_env,
    prefect_server,
    run,
    stop,
    wait_healthy,
)
from prefect.client import orchestration
from prefect.client.orchestration import SyncPrefectClient
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings
from prefect.types import WITHOUT_BANNED_CHARACTERS
from pydantic import SecretStr

from prefect_zoom._prefect_api import asking_client
from prefect_zoom.catalog import RateLabel
from prefect_zoom.client import RetryPolicy, budget
from prefect_zoom.client import limits as budget_limits
from prefect_zoom.client.budget import BUDGET_SHARE, BUDGETS, SLOT_SCALE
from prefect_zoom.client.daily import DAILY_CAP
from prefect_zoom.client.limits import ACCOUNT_BUDGET_ENV, daily_limit_name, rate_limit_name
from prefect_zoom.client.pacing import PACERS
from prefect_zoom.connections import (
    ACCOUNT_RETRY_SECONDS,
    CONNECTIONS,
    ConnectionRegistry,
    connection_key,
)
from prefect_zoom.tasks._common import client_for
from zoom_emulator import EmulatorConfig, ZoomEmulator, free_port

pytestmark = pytest.mark.skipif(not PREFECT.exists(), reason="the prefect CLI is not here")

USERS = 90
PRO_MEDIUM = 20


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(rate_limits="pro", seed_users=USERS, recordings_per_user=1)


@pytest.fixture
def fresh_budgets() -> Iterator[None]:
    """No pacer, budget or daily count of an earlier test."""
    for registry in (PACERS, BUDGETS, DAILY_CAP):
        registry.clear()
    yield
    for registry in (PACERS, BUDGETS, DAILY_CAP):
        registry.clear()


Server = tuple[str, dict[str, str], subprocess.Popen[bytes]]


@pytest.fixture
def batches(fresh_budgets: None) -> Iterator[mock.MagicMock]:
    """Every batch this process's budgets (new ones) ask Prefect for (``call_count``)."""
    with mock.patch.object(budget, "take_rate_slots", wraps=budget.take_rate_slots) as asked:
        yield asked


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A started ``prefect server``: its API URL, the environment of processes using it, and
    its process."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = prefect_env(tmp_path / "prefect-home", api, PREFECT_LOGGING_LEVEL="WARNING")
    log = tmp_path / "server.log"
    with prefect_server(port, env, log, cwd=tmp_path) as process:
        wait_healthy(api, process, log, deadline=120)
        yield api, env, process


def save_block(emulator: ZoomEmulator, env: dict[str, str], log: Path) -> str:
    """Save the emulator's Server-to-Server connection, plan ``pro``, on the server of ``env``."""
    block = s2s_credentials(emulator)
    fields = {
        "name": "zoom-budget",
        "account_id": block.account_id,
        "client_id": block.client_id,
        "client_secret": emulator.config.s2s_client_secret,
        "api_base_url": block.api_base_url,
        "oauth_base_url": block.oauth_base_url,
        "rate_plan": "pro",
    }
    run([sys.executable, "-c", SAVE_BLOCK], env, log, stdin=json.dumps(fields))
    return "zoom-budget"


def read_limit(api: str, name: str) -> dict[str, object]:
    answer = httpx.get(f"{api}/v2/concurrency_limits/{name}", timeout=10)
    answer.raise_for_status()
    limit: dict[str, object] = answer.json()
    return limit


# ---- names ---------------------------------------------------------------------------------------
def test_limit_names_carry_the_account_and_label_never_a_secret(
    zoom_emulator: ZoomEmulator,
) -> None:
    config = zoom_emulator.config
    secrets = [config.s2s_client_secret, config.s2s_client_id, "@"]
    day = datetime.now(UTC).date()
    rate = rate_limit_name(config.account_id, RateLabel.MEDIUM)
    daily = daily_limit_name(config.account_id, "someone@example.com", day)
    assert rate == f"zoom-rate:{config.account_id}:medium"
    assert daily.startswith(f"zoom-daily:{config.account_id}:meeting-writes:{day.isoformat()}:")
    for name in (rate, daily):
        assert re.fullmatch(WITHOUT_BANNED_CHARACTERS, name)
        assert not any(secret in name for secret in secrets), name
    assert daily_limit_name(config.account_id, "Someone@Example.com", day) == daily


# ---- three processes, one account ----------------------------------------------------------------
@pytest.mark.slow
def test_three_processes_together_stay_under_the_accounts_limit(
    zoom_emulator: ZoomEmulator, server: Server, tmp_path: Path
) -> None:
    """3 processes x 4 threads list 90 users' recordings (Medium: 20 a second on Pro); each would
    pace to the whole 20 alone. Together they stay under it, and every call succeeds."""
    api, env, _ = server
    block = save_block(zoom_emulator, env, tmp_path / "setup.log")
    users = [user.id for user in zoom_emulator.state.users.values()][:USERS]
    jobs = [["--users", ",".join(users[k::3]), "--threads", "4"] for k in range(3)]
    summaries, _ = run_workers(
        block, jobs, env, before_go=lambda: zoom_emulator.state.counters.clear()
    )
    counters = zoom_emulator.state.counters
    listed = sum(v for k, v in counters.items() if k.startswith("GET /v2/users/") and "200" in k)
    assert [s["failures"] for s in summaries] == [0, 0, 0], summaries
    assert [s["fallbacks"] for s in summaries] == [[], [], []]
    assert sum(s["calls"] for s in summaries) == USERS
    assert listed == USERS
    # Zoom counts fixed one-second windows; the limit's slots decay smoothly and it holds two
    # small batches, so a window may rarely see a request or two more. Each process pacing alone
    # (PREFECT_ZOOM_ACCOUNT_BUDGET=off) gets about a third of its requests refused here.
    assert counters.get("rate_limited", 0) <= 2, dict(counters)
    limit = read_limit(api, rate_limit_name(zoom_emulator.config.account_id, RateLabel.MEDIUM))
    assert limit["slot_decay_per_second"] == pytest.approx(PRO_MEDIUM * BUDGET_SHARE * SLOT_SCALE)


# ---- the Prefect API goes down -------------------------------------------------------------------
@pytest.mark.slow
def test_calls_go_on_paced_locally_when_the_prefect_api_goes_down(
    zoom_emulator: ZoomEmulator,
    server: Server,
    batches: mock.MagicMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Half the users listed through the account's limit, then the server stops: the other half
    still succeed (the process paces alone, no 429), and the fallback is logged once."""
    api, _, process = server
    users = [user.id for user in zoom_emulator.state.users.values()][:40]
    policy = RetryPolicy(rate_plan="pro", account_budget=True)
    caplog.set_level(logging.WARNING, logger="prefect_zoom.client")
    with (
        temporary_settings({PREFECT_API_URL: api}),
        s2s_credentials(zoom_emulator).get_client(policy=policy) as zoom,
    ):

        def list_recordings(user: str) -> str:
            zoom.get_json(f"/users/{user}/recordings", operation="list_user_recordings")
            return user

        listed = [list_recordings(user) for user in users[:20]]
        assert batches.call_count >= 10  # 20 requests, 2 a batch: they went through Prefect
        stop(process)
        listed += [list_recordings(user) for user in users[20:]]
    assert listed == users
    assert zoom_emulator.state.counters.get("rate_limited", 0) == 0  # counted before answering
    fallbacks = [r for r in caplog.records if "could not use the Prefect API" in r.getMessage()]
    assert len(fallbacks) == 1, [r.getMessage() for r in caplog.records]


# ---- the daily meeting cap -----------------------------------------------------------------------
@pytest.mark.slow
def test_two_processes_share_a_hosts_daily_meeting_creates(
    zoom_emulator: ZoomEmulator, server: Server, tmp_path: Path
) -> None:
    """Two processes create 60 meetings each for one host: 100 are created, the other 20 are
    refused before they are sent (Zoom never answers a daily-limit 429), saying when to resume."""
    api, env, _ = server
    block = save_block(zoom_emulator, env, tmp_path / "setup.log")
    jobs = [["--create-meetings", "60", "--host", "me"]] * 2
    summaries, _ = run_workers(block, jobs, env)
    counters = zoom_emulator.state.counters
    assert counters["POST /v2/users/{userId}/meetings 201"] == 100, dict(counters)
    assert counters.get("rate_limited Daily-limit", 0) == 0
    assert sum(s["calls"] - s["failures"] for s in summaries) == 100
    assert sum(s["errors"].get("ZoomRateLimitError", 0) for s in summaries) == 20, summaries
    samples = [text for s in summaries for text in s["error_samples"]]
    assert samples and all("not sent to Zoom" in text for text in samples), samples
    assert all("resume after" in text and "T00:00:00+00:00" in text for text in samples)
    day = datetime.now(UTC).date()
    counted = read_limit(api, daily_limit_name(zoom_emulator.config.account_id, "me", day))
    assert counted["active_slots"] == 100


@pytest.mark.slow
async def test_the_async_client_takes_its_requests_from_the_budget_too(
    zoom_emulator: ZoomEmulator,
    server: Server,
    batches: mock.MagicMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The async client waits for the account's slots without blocking its event loop: ten
    concurrent listings go through the limit, with no 429."""
    api, _, _ = server
    caplog.set_level(logging.WARNING, logger="prefect_zoom.client")
    users = [user.id for user in zoom_emulator.state.users.values()][:10]
    policy = RetryPolicy(rate_plan="pro", account_budget=True)
    with temporary_settings({PREFECT_API_URL: api}):
        async with s2s_credentials(zoom_emulator).get_async_client(policy=policy) as zoom:
            pages = await asyncio.gather(
                *(
                    zoom.get_json(f"/users/{user}/recordings", operation="list_user_recordings")
                    for user in users
                )
            )
    assert len(pages) == 10 and all("meetings" in page for page in pages)
    assert zoom_emulator.state.counters.get("rate_limited", 0) == 0
    assert batches.call_count >= 5  # 10 requests, 2 a batch, all from Prefect
    assert not [r for r in caplog.records if "could not use the Prefect API" in r.getMessage()]


# ---- OAuth connections: the account learned from Zoom --------------------------------------------
ASK_ACCOUNT = "GET /v2/users/{userId} 200"


@pytest.fixture
def budget_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget on for clients made in this process (the session's Prefect API keeps it)."""
    monkeypatch.setenv(ACCOUNT_BUDGET_ENV, "on")


def saved_oauth(emulator: ZoomEmulator, **fields: object) -> str:
    """An OAuth connection to the emulator saved on the session's Prefect API; its name."""
    name = f"budget-oauth-{uuid.uuid4().hex[:8]}"
    oauth_credentials(emulator).model_copy(update=fields).save(name)
    return name


def list_by_name(name: str, users: list[str]) -> None:
    """Each user's recordings, each with a client of its own, as tasks by block name do."""
    for user in users:
        with client_for(name) as zoom:
            zoom.get_json(f"/users/{user}/recordings", operation="list_user_recordings")


def limits_asked(batches: mock.MagicMock) -> set[str]:
    return {call.args[1] for call in batches.call_args_list}


def test_an_oauth_connection_by_name_spends_its_accounts_budget(
    zoom_emulator: ZoomEmulator, batches: mock.MagicMock, budget_on: None
) -> None:
    """Zoom's ``GET /users/me`` tells the account once per process; ten clients' requests take
    their slots from that account's limit, the one a Server-to-Server connection would use."""
    name = saved_oauth(zoom_emulator, rate_plan="pro")
    users = [user.id for user in zoom_emulator.state.users.values()][:10]
    list_by_name(name, users)
    assert zoom_emulator.state.counters.get(ASK_ACCOUNT) == 1, dict(zoom_emulator.state.counters)
    assert batches.call_count >= 5  # 10 requests, 2 a batch
    account = zoom_emulator.config.account_id
    assert limits_asked(batches) == {rate_limit_name(account, RateLabel.MEDIUM)}


@pytest.mark.parametrize(("fields", "budget_env"), [({}, "on"), ({"rate_plan": "pro"}, "off")])
def test_no_account_is_asked_when_the_budget_would_not_apply(
    zoom_emulator: ZoomEmulator,
    batches: mock.MagicMock,
    monkeypatch: pytest.MonkeyPatch,
    fields: dict[str, object],
    budget_env: str,
) -> None:
    """No plan and nothing learned yet, or the budget turned off: no extra request to Zoom."""
    monkeypatch.setenv(ACCOUNT_BUDGET_ENV, budget_env)
    name = saved_oauth(zoom_emulator, **fields)
    list_by_name(name, [user.id for user in zoom_emulator.state.users.values()][:3])
    assert ASK_ACCOUNT not in zoom_emulator.state.counters
    assert batches.call_count == 0


def test_a_refused_account_lookup_falls_back_to_the_connections_own_budget(
    zoom_emulator: ZoomEmulator,
    batches: mock.MagicMock,
    budget_on: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A connection without a user scope cannot ask ``GET /users/me``: one warning, and its
    requests share a budget named after the block (no secret in either)."""
    scopes = ["recording:read"]
    token = mint_token(zoom_emulator, scopes, kind="oauth")
    now = datetime.now(UTC)
    block = oauth_credentials(zoom_emulator).model_copy(
        update={
            "rate_plan": "pro",
            "access_token": SecretStr(token),
            "scopes": scopes,
            "issued_at": now,
            "expires_at": now + timedelta(hours=1),
        }
    )
    name = f"budget-oauth-{uuid.uuid4().hex[:8]}"
    block.save(name)
    caplog.set_level(logging.WARNING, logger="prefect_zoom")
    list_by_name(name, [user.id for user in zoom_emulator.state.users.values()][:6])
    warnings = [r.getMessage() for r in caplog.records if "Could not learn" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "ZoomMissingScopesError" in warnings[0] and name in warnings[0]
    assert limits_asked(batches) == {rate_limit_name(connection_key(name, block), RateLabel.MEDIUM)}
    secrets = [
        token,
        zoom_emulator.config.oauth_client_secret,
        zoom_emulator.config.oauth_client_id,
    ]
    for text in [*warnings, *limits_asked(batches)]:
        assert not any(secret in text for secret in secrets), text
    assert zoom_emulator.state.counters.get("rate_limited", 0) == 0


def test_a_failed_account_lookup_is_asked_again_later(
    zoom_emulator: ZoomEmulator, budget_on: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Zoom failing ``GET /users/me`` (a 5xx on every attempt) is no refusal: the connection's own
    key stands in for ``ACCOUNT_RETRY_SECONDS``, then Zoom is asked again and the account's
    budget applies, as in every other process that learned it."""
    now = [0.0]
    registry = ConnectionRegistry(clock=lambda: now[0])
    name = saved_oauth(zoom_emulator, rate_plan="pro")
    entry = registry.get(name)
    entry.manager.get_token()  # the token while Zoom is healthy
    caplog.set_level(logging.WARNING, logger="prefect_zoom")
    faults = zoom_emulator.state.config.faults
    faults.error_rate = 1.0
    try:
        stand_in = entry.account()
        failed = zoom_emulator.state.counters["fault 5xx"]
        now[0] += ACCOUNT_RETRY_SECONDS - 1
        assert entry.account() == stand_in  # not asked again yet
        assert zoom_emulator.state.counters["fault 5xx"] == failed
    finally:
        faults.error_rate = 0.0
    assert failed >= 1
    assert stand_in.account_id == connection_key(name, entry.block)
    now[0] += 1
    learned = entry.account()
    assert learned.account_id == zoom_emulator.config.account_id
    assert entry.account() is learned  # kept: no further lookups
    warnings = [r.getMessage() for r in caplog.records if "Could not learn" in r.getMessage()]
    assert len(warnings) == 1 and "ZoomServerError" in warnings[0], warnings
    assert f"asked again in {ACCOUNT_RETRY_SECONDS:.0f} s" in warnings[0]
    registry.clear()


@pytest.mark.slow
def test_meeting_creates_and_updates_share_the_hosts_daily_cap_across_processes(
    zoom_emulator: ZoomEmulator, server: Server, budget_on: None
) -> None:
    """As Zoom counts them: one host's creates (for ``me`` and for the host's id) and updates of
    its meeting, by three processes on one OAuth connection by name, share one cap of 100; the
    writes past it are refused before they are sent."""
    api, env, _ = server
    owner = zoom_emulator.state.owner().id
    with temporary_settings({PREFECT_API_URL: api}):
        name = saved_oauth(zoom_emulator, rate_plan="pro")
        with CONNECTIONS.get(name).client() as zoom:  # one write, counted here
            first = zoom.request(
                "POST", "/users/me/meetings", operation="create_meeting", json={"topic": "x"}
            ).json()
    common = ["--by-name"]
    jobs = [
        [*common, "--create-meetings", "40", "--host", "me"],
        [*common, "--create-meetings", "40", "--host", owner],
        [*common, "--update-meeting", str(first["id"]), "--updates", "30"],
    ]
    summaries, _ = run_workers(name, jobs, env)
    counters = zoom_emulator.state.counters
    written = counters["POST /v2/users/{userId}/meetings 201"] + counters.get(
        "PATCH /v2/meetings/{meetingId} 204", 0
    )
    assert written == 100, dict(counters)
    assert counters.get("rate_limited Daily-limit", 0) == 0
    assert sum(s["calls"] - s["failures"] for s in summaries) == 99, summaries
    refused = sum(s["errors"].get("ZoomRateLimitError", 0) for s in summaries)
    assert refused == 11 and sum(s["failures"] for s in summaries) == 11, summaries
    day = datetime.now(UTC).date()
    account = zoom_emulator.config.account_id
    counted = read_limit(api, daily_limit_name(account, owner, day))
    assert counted["active_slots"] == 100


# ---- a busy Prefect API ----------------------------------------------------------------------------
def busy_then_granted(seen: list[str]) -> httpx.MockTransport:
    """A Prefect API whose rate limit answers 503 (SQLite busy) twice, then grants."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/csrf-token"):
            return httpx.Response(422, text="CSRF protection is disabled.")
        if request.url.path.endswith("/v2/concurrency_limits/increment"):
            asked = sum(path.endswith("/increment") for path in seen)
            if asked <= 2:
                return httpx.Response(503, json={"exception_message": "Service Unavailable"})
            return httpx.Response(200, json=[{"id": str(uuid.uuid4()), "name": "x", "limit": 4}])
        return httpx.Response(200, json={})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("asking", [True, False])
def test_a_busy_prefect_api_is_asked_again_without_prefect_clients_sleep(
    monkeypatch: pytest.MonkeyPatch, asking: bool
) -> None:
    """The budget's client hands a 503 back at once, and the ask goes again after the
    budget's own short wait; Prefect's own client sleeps about 2 s first (the control)."""
    seen: list[str] = []
    slept: list[float] = []
    transport = busy_then_granted(seen)
    real = orchestration.get_client

    def with_transport(
        httpx_settings: dict[str, object] | None = None, sync_client: bool = True
    ) -> SyncPrefectClient:
        return real(
            httpx_settings={**(httpx_settings or {}), "transport": transport}, sync_client=True
        )

    monkeypatch.setattr(orchestration, "get_client", with_transport)
    monkeypatch.setattr(budget_limits.time, "sleep", slept.append)  # the one time module
    make = asking_client if asking else lambda: orchestration.get_client(sync_client=True)
    with (
        temporary_settings(
            {PREFECT_API_URL: "http://prefect.test/api", PREFECT_CLIENT_MAX_RETRIES: 0}
        ),
        make() as client,
    ):
        budget_limits.take_rate_slots(client, "zoom-rate:x:medium", 2000, retry=0.1, timeout=15)
    assert sum(path.endswith("/increment") for path in seen) == 3
    if asking:
        assert slept and max(slept) <= 0.1, slept  # the budget's own waits only
    else:
        assert max(slept) >= 1.0, slept
