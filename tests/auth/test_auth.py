"""Tokens, locks and token managers: renewal once for all threads, adoption, rotation, errors."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from prefect_zoom.auth import (
    MemoryTokenStore,
    OAuthTokenManager,
    ServerToServerTokenManager,
    TokenEndpoint,
    TokenSet,
    aconnection_lock,
    connection_lock,
    locks,
)
from prefect_zoom.exceptions import ZoomAuthError, ZoomAuthorizeAgainError

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def tokens(
    access: str = "at-1", refresh: str | None = "rt-1", ttl: float = 3600, age: float = 0
) -> TokenSet:
    issued = datetime.now(UTC) - timedelta(seconds=age)
    return TokenSet(
        access_token=SecretStr(access),
        refresh_token=SecretStr(refresh) if refresh else None,
        issued_at=issued,
        expires_at=issued + timedelta(seconds=ttl),
        scopes=["user:read"],
    )


# ---- TokenSet -------------------------------------------------------------------------------------
def test_refresh_margin_is_min_of_60s_and_a_hundredth_of_the_lifetime() -> None:
    hour = TokenSet(access_token=SecretStr("a"), issued_at=NOW, expires_at=NOW + timedelta(hours=1))
    assert hour.refresh_margin == timedelta(seconds=36)
    assert not hour.expires_soon(NOW + timedelta(seconds=3563))
    assert hour.expires_soon(NOW + timedelta(seconds=3564))
    day = TokenSet(access_token=SecretStr("a"), issued_at=NOW, expires_at=NOW + timedelta(days=1))
    assert day.refresh_margin == timedelta(seconds=60)
    short = TokenSet(
        access_token=SecretStr("a"), issued_at=NOW, expires_at=NOW + timedelta(seconds=2)
    )
    assert short.refresh_margin == timedelta(seconds=0.02)
    assert not short.expires_soon(NOW + timedelta(seconds=1.97))
    assert short.expires_soon(NOW + timedelta(seconds=1.98))


def test_from_response_and_secrets_hidden() -> None:
    data = {
        "access_token": "AT-SECRET",
        "refresh_token": "RT-SECRET",
        "expires_in": 3600,
        "scope": "a b",
    }
    parsed = TokenSet.from_response(data, now=NOW)
    assert parsed.scopes == ["a", "b"]
    assert parsed.expires_at == NOW + timedelta(hours=1)
    assert parsed.refresh_token is not None
    for text in (repr(parsed), str(parsed), parsed.model_dump_json()):
        assert "AT-SECRET" not in text and "RT-SECRET" not in text


def test_naive_datetimes_are_taken_as_utc() -> None:
    naive = TokenSet(
        access_token=SecretStr("a"),
        issued_at=NOW.replace(tzinfo=None),
        expires_at=NOW.replace(tzinfo=None),
    )
    assert naive.expires_at.tzinfo is not None


# ---- locks ----------------------------------------------------------------------------------------
def _overlap_probe() -> tuple[Callable[[], None], list[int]]:
    inside = [0]
    worst = [0]
    guard = threading.Lock()

    def enter_and_leave() -> None:
        with guard:
            inside[0] += 1
            worst[0] = max(worst[0], inside[0])
        time.sleep(0.002)  # widen the window a race would need
        with guard:
            inside[0] -= 1

    return enter_and_leave, worst


@pytest.mark.parametrize("api", ["prefect", "file"])
def test_connection_lock_serializes_threads(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    probe, worst = _overlap_probe()
    key = f"lock-test-{api}"
    used_file = []
    if api == "file":
        monkeypatch.setattr(locks, "prefect_api_url", lambda: None)
        real = locks.lock_file

        def spy(k: str) -> Path:
            used_file.append(k)
            return real(k)

        monkeypatch.setattr(locks, "lock_file", spy)

    def work() -> None:
        for _ in range(3):
            with connection_lock(key):
                probe()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert worst[0] == 1
    if api == "file":
        assert len(used_file) == 18
        assert locks.lock_file(key).parent.is_dir()


def test_prefect_lock_is_a_global_concurrency_limit_of_one() -> None:
    from prefect.client.orchestration import get_client

    assert locks.prefect_api_url()
    with connection_lock("my block/name"):
        pass
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(
            "prefect-zoom-connection-my-block-name"
        )
    assert limit.limit == 1 and limit.active


async def test_async_lock_serializes_tasks_without_blocking_the_loop() -> None:
    probe, worst = _overlap_probe()
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    async def work() -> None:
        async with aconnection_lock("async-lock-test"):
            probe()
            await asyncio.sleep(0.005)

    tick_task = asyncio.create_task(ticker())
    holder_started = threading.Event()
    release_holder = threading.Event()

    def hold_from_a_thread() -> None:
        with connection_lock("async-lock-test"):
            holder_started.set()
            release_holder.wait(10)

    holder = threading.Thread(target=hold_from_a_thread)
    holder.start()
    holder_started.wait(30)
    waiting = [asyncio.create_task(work()) for _ in range(10)]
    before = ticks
    await asyncio.sleep(0.1)
    assert ticks > before  # the loop kept running while every task waited for the lock
    release_holder.set()
    await asyncio.gather(*waiting)
    stop.set()
    await tick_task
    holder.join()
    assert worst[0] == 1


# ---- token managers against a mock token endpoint -------------------------------------------------
class FakeZoomOAuth:
    """A token endpoint with rotation, counting grants."""

    def __init__(self, ttl: int = 3600) -> None:
        self.ttl = ttl
        self.grants = 0
        self.alive_refresh = "rt-1"
        self.fail_with: tuple[int, dict[str, object]] | None = None
        self.lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"].startswith("Basic ")
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        form.update(dict(request.url.params))
        if self.fail_with is not None:
            status, body = self.fail_with
            return httpx.Response(status, json=body, headers={"x-zm-trackingid": "trk-1"})
        with self.lock:
            self.grants += 1
            n = self.grants
            if form["grant_type"] == "refresh_token":
                if form["refresh_token"] != self.alive_refresh:
                    return httpx.Response(
                        400, json={"reason": "Invalid Token!", "error": "invalid_grant"}
                    )
                self.alive_refresh = f"rt-{n + 1}"
                body = {"access_token": f"at-{n + 1}", "refresh_token": self.alive_refresh}
            else:
                assert form["grant_type"] == "account_credentials"
                assert form["account_id"] == "acct"
                body = {"access_token": f"s2s-{n}"}
        body.update(token_type="bearer", expires_in=self.ttl, scope="user:read meeting:read")
        return httpx.Response(200, json=body)

    def endpoint(
        self, reconnect: str | None = "prefect-zoom connect oauth --block b"
    ) -> TokenEndpoint:
        return TokenEndpoint(
            "https://zoom.test/oauth",
            "cid",
            lambda: "secret",
            reconnect_command=reconnect,
            transport=httpx.MockTransport(self.handler),
            async_transport=httpx.MockTransport(self.handler),
        )


def test_many_threads_refresh_once() -> None:
    fake = FakeZoomOAuth()
    store = MemoryTokenStore("threads-refresh-once", tokens(ttl=10, age=9.95))
    manager = OAuthTokenManager(store, fake.endpoint())
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(manager.get_token())) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert fake.grants == 1
    assert set(seen) == {"at-2"}
    stored = store.current_tokens()
    assert stored is not None and stored.refresh_token is not None
    assert stored.refresh_token.get_secret_value() == "rt-2"  # the rotated token was saved


async def test_many_tasks_refresh_once() -> None:
    fake = FakeZoomOAuth()
    store = MemoryTokenStore("tasks-refresh-once", tokens(ttl=10, age=9.95))
    manager = OAuthTokenManager(store, fake.endpoint())
    seen = await asyncio.gather(*(manager.aget_token() for _ in range(20)))
    assert fake.grants == 1 and set(seen) == {"at-2"}


def test_rejected_token_adopts_a_newer_stored_one() -> None:
    fake = FakeZoomOAuth()
    store = MemoryTokenStore("adopt", tokens("at-1"))
    manager = OAuthTokenManager(store, fake.endpoint())
    assert manager.get_token() == "at-1"
    store.save_tokens(tokens("at-other", "rt-1"))  # another process renewed meanwhile
    manager.on_invalid_token("at-1")
    assert manager.get_token() == "at-other" and fake.grants == 0
    manager.on_invalid_token("at-other")  # the stored one is rejected too: refresh
    assert manager.get_token() == "at-2" and fake.grants == 1


def test_stale_rejection_after_another_thread_renewed_is_ignored() -> None:
    fake = FakeZoomOAuth()
    manager = OAuthTokenManager(MemoryTokenStore("stale", tokens("at-1")), fake.endpoint())
    manager.on_invalid_token("at-1")
    manager.on_invalid_token("at-1")  # a second thread reports the same old token
    assert fake.grants == 1


def test_invalid_grant_asks_to_authorize_again_and_is_not_retried() -> None:
    fake = FakeZoomOAuth()
    fake.alive_refresh = "someone-else"
    manager = OAuthTokenManager(
        MemoryTokenStore("dead", tokens(age=4000)),
        fake.endpoint(),
        reconnect_command="prefect-zoom connect oauth --block b",
    )
    with pytest.raises(ZoomAuthorizeAgainError) as caught:
        manager.get_token()
    assert "prefect-zoom connect oauth --block b" in str(caught.value)
    assert "rt-1" not in str(caught.value)
    assert fake.grants == 1


@pytest.mark.parametrize("code", [4733, 4734, 4735, 4737, 4741])
def test_authorize_again_codes(code: int) -> None:
    fake = FakeZoomOAuth()
    fake.fail_with = (400, {"reason": "Gone", "error": "invalid_request", "code": code})
    manager = OAuthTokenManager(MemoryTokenStore(f"code-{code}", tokens(age=4000)), fake.endpoint())
    with pytest.raises(ZoomAuthorizeAgainError):
        manager.get_token()


def test_missing_refresh_token_asks_to_authorize_again() -> None:
    manager = OAuthTokenManager(
        MemoryTokenStore("no-refresh", tokens(refresh=None, age=4000)), FakeZoomOAuth().endpoint()
    )
    with pytest.raises(ZoomAuthorizeAgainError):
        manager.get_token()


def test_bad_client_secret_is_an_auth_error() -> None:
    fake = FakeZoomOAuth()
    fake.fail_with = (
        401,
        {"reason": "Invalid client secret.", "error": "invalid_client", "code": 4704},
    )
    manager = ServerToServerTokenManager(
        MemoryTokenStore("s2s-bad", None), fake.endpoint(None), "acct"
    )
    with pytest.raises(ZoomAuthError) as caught:
        manager.get_token()
    assert caught.value.code == 4704 and "secret" not in caught.value.hint.lower().replace(
        "client secret", ""
    )


def test_token_endpoint_5xx_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from prefect_zoom.auth import endpoint as endpoint_module

    fast = replace(endpoint_module.TOKEN_POLICY, backoff_base=0.001, backoff_cap=0.01)
    monkeypatch.setattr(endpoint_module, "TOKEN_POLICY", fast)
    fake = FakeZoomOAuth()
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(503, json={"code": 503, "message": "busy"})
        if calls["n"] == 2:
            raise httpx.ConnectError("refused", request=request)
        return fake.handler(request)

    endpoint = TokenEndpoint(
        "https://zoom.test/oauth", "cid", lambda: "secret", transport=httpx.MockTransport(flaky)
    )
    manager = ServerToServerTokenManager(MemoryTokenStore("s2s-flaky", None), endpoint, "acct")
    assert manager.get_token() == "s2s-1"
    assert calls["n"] == 3


def test_s2s_grant_sends_account_credentials_in_the_query() -> None:
    seen: list[httpx.Request] = []
    fake = FakeZoomOAuth()

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fake.handler(request)

    endpoint = TokenEndpoint(
        "https://zoom.test/oauth", "cid", lambda: "secret", transport=httpx.MockTransport(spy)
    )
    manager = ServerToServerTokenManager(MemoryTokenStore("s2s-query", None), endpoint, "acct")
    manager.get_token()
    assert seen[0].url.params["grant_type"] == "account_credentials"
    assert seen[0].url.params["account_id"] == "acct"
    assert manager.granted_scopes == ["user:read", "meeting:read"]


class FlakyStore(MemoryTokenStore):
    def __init__(self, key: str, initial: TokenSet) -> None:
        super().__init__(key, initial)
        self.failures = 0
        self.saves = 0

    def save_tokens(self, tokens: TokenSet) -> None:
        self.saves += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("Prefect API down")
        super().save_tokens(tokens)


def test_a_renewed_token_is_saved_before_it_is_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect_zoom.auth import renewal

    monkeypatch.setattr(renewal, "SAVE_PATIENCE_SECONDS", 1.0)
    fake = FakeZoomOAuth()
    store = FlakyStore("flaky-save", tokens(age=4000))
    store.failures = 1000
    manager = OAuthTokenManager(store, fake.endpoint())
    with pytest.raises(RuntimeError):
        manager.get_token()
    assert store.saves >= 3  # retried with backoff, not three times within milliseconds
    # the new tokens are the only valid copy: kept, but not used while the block lacks them ...
    saves = store.saves
    with pytest.raises(RuntimeError):
        manager.get_token()
    assert store.saves > saves and fake.grants == 1  # saving again, no second refresh
    # ... and handed out once the save succeeds, without renewing again
    store.failures = 0
    assert manager.get_token() == "at-2"
    saved = store.current_tokens()
    assert saved is not None and saved.refresh_token is not None
    assert saved.refresh_token.get_secret_value() == "rt-2"
    assert fake.grants == 1


def test_save_backoff_grows_and_stops_with_the_lease_or_the_patience() -> None:
    from prefect_zoom.auth.renewal import SAVE_BACKOFF_MAX_SECONDS, SAVE_MIN_ATTEMPTS, save_delays

    delay = save_delays(patience=60)
    pauses = [delay(attempt, 1000.0) or 0.0 for attempt in range(1, 200)]
    assert all(p > 0 for p in pauses)
    assert pauses[0] < pauses[3] and max(pauses) == SAVE_BACKOFF_MAX_SECONDS
    assert delay(5, 0.01) is None  # the lease is about to run out: stop saving under it
    spent = save_delays(patience=0)  # saves slower than the patience: still tried again ...
    assert all(spent(attempt, 1000.0) for attempt in range(1, SAVE_MIN_ATTEMPTS))
    assert spent(SAVE_MIN_ATTEMPTS, 1000.0) is None  # ... until the minimum of tries is made
    assert spent(1, 0.01) is None  # the lease bounds every try


def test_reconcile_takes_the_newest_issue_time() -> None:
    from prefect_zoom.auth.renewal import reconcile

    old, new = tokens("at-old", "rt-old", age=10), tokens("at-new", "rt-new", age=1)
    assert reconcile(old, new, None) == (new, True)  # the recovery store is ahead: save it
    assert reconcile(new, old, None) == (new, False)  # the block caught up (or is newer)
    assert reconcile(None, None, new) == (new, True)
    assert reconcile(None, None, None) == (None, False)


def test_error_messages_never_contain_tokens() -> None:
    fake = FakeZoomOAuth()
    fake.fail_with = (400, {"reason": "Invalid Token!", "error": "invalid_grant"})
    manager = OAuthTokenManager(
        MemoryTokenStore("no-leak", tokens("AT-SECRET", "RT-SECRET", age=4000)), fake.endpoint()
    )
    with pytest.raises(ZoomAuthorizeAgainError) as caught:
        manager.get_token()
    text = str(caught.value) + repr(caught.value)
    assert "AT-SECRET" not in text and "RT-SECRET" not in text
    assert json.dumps({"status": caught.value.status}) == '{"status": 400}'


def test_token_lifetime_counts_from_the_request_not_the_answer() -> None:
    """Zoom starts a token's clock when it answers; ours starts earlier, so it runs out first."""
    fake = FakeZoomOAuth()
    answered: list[datetime] = []

    def stamp(request: httpx.Request) -> httpx.Response:
        response = fake.handler(request)
        answered.append(datetime.now(UTC))
        return response

    endpoint = TokenEndpoint(
        "https://zoom.test/oauth", "cid", lambda: "secret", transport=httpx.MockTransport(stamp)
    )
    tokens = endpoint.account_credentials("acct")
    assert tokens.issued_at <= answered[0]
    assert tokens.expires_at - tokens.issued_at == timedelta(seconds=3600)


def test_no_renewal_on_a_lease_about_to_run_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A holder whose lease ran down (its Prefect API away) may have lost the lock: Zoom is not
    asked, so two processes never refresh the same rotating token."""
    from contextlib import contextmanager

    from prefect_zoom.auth import manager as manager_module
    from prefect_zoom.auth import renewal

    @contextmanager
    def stale_lock(key: str, watch: locks.Watch = None) -> Iterator[locks.Lease]:
        lease = locks.Lease(expires=True)
        lease._renewed -= locks.LEASE_SECONDS  # its heartbeat has stood still for a lease
        yield lease

    monkeypatch.setattr(manager_module, "connection_lock", stale_lock)
    monkeypatch.setattr(renewal, "SAVE_PATIENCE_SECONDS", 0.3)
    fake = FakeZoomOAuth()
    manager = OAuthTokenManager(MemoryTokenStore("stale-lease", tokens(age=4000)), fake.endpoint())
    with pytest.raises(locks.ConnectionLockTimeout) as caught:
        manager.get_token()
    assert "lease ran out" in str(caught.value)
    assert fake.grants == 0
