"""The Zoom clients: retry and error policy (mock transport corners) and real HTTP to the emulator."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers.connections import Renewing, mint_token, s2s_credentials

from prefect_zoom.auth import StaticToken
from prefect_zoom.client import AsyncZoomClient, RetryPolicy, ZoomClient
from prefect_zoom.exceptions import (
    ZoomAPIError,
    ZoomAuthError,
    ZoomAuthorizeAgainError,
    ZoomMissingScopesError,
    ZoomNotFoundError,
    ZoomRateLimitError,
    ZoomServerError,
    ZoomValidationError,
)
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator

API = "https://api.zoom.test/v2"
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.01, rate_limit_jitter=0.01)
TOKEN = "AT-SECRET-VALUE"


def iso_in(seconds: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.isoformat()


Handler = Callable[[httpx.Request], httpx.Response]


def sync_client(handler: Handler, tokens: object | None = None, **kwargs: object) -> ZoomClient:
    provider = tokens or StaticToken(TOKEN)
    return ZoomClient(API, provider, policy=FAST, transport=httpx.MockTransport(handler), **kwargs)  # type: ignore[arg-type]


def async_client(handler: Handler, tokens: object | None = None) -> AsyncZoomClient:
    provider = tokens or StaticToken(TOKEN)
    return AsyncZoomClient(API, provider, policy=FAST, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def scripted(*answers: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering in order (the last answer repeats), recording requests."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def ok(body: object | None = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {"ok": True})


def zoom_error(status: int, code: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"code": code, "message": message},
        headers={"x-zm-trackingid": "v=2.0;rid=TRACK", **headers},
    )


# ---- headers ------------------------------------------------------------------------------------
def test_token_only_in_the_authorization_header() -> None:
    handler, seen = scripted(ok({"id": "u"}))
    with sync_client(handler) as zoom:
        assert zoom.get_json("/users/me", params={"a": "b"}) == {"id": "u"}
    request = seen[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(request.url)
    assert request.headers["user-agent"].startswith("prefect-zoom/")
    assert str(request.url) == f"{API}/users/me?a=b"


def test_logs_never_hold_the_token(caplog: pytest.LogCaptureFixture) -> None:
    handler, _ = scripted(zoom_error(503, 503, "busy"), ok())
    caplog.set_level(logging.DEBUG)
    with sync_client(handler) as zoom:
        zoom.get_json("/users/me")
    assert "GET" in caplog.text and "/users/me" in caplog.text
    assert TOKEN not in caplog.text


# ---- 401 ----------------------------------------------------------------------------------------
def test_invalid_token_is_renewed_and_retried_once() -> None:
    handler, seen = scripted(zoom_error(401, 124, "Invalid access token."), ok())
    tokens = Renewing()
    with sync_client(handler, tokens) as zoom:
        zoom.get_json("/users/me")
    assert tokens.rejected == ["tok-1"]
    assert [r.headers["authorization"] for r in seen] == ["Bearer tok-1", "Bearer tok-2"]


def test_repeated_401_is_bounded() -> None:
    handler, seen = scripted(zoom_error(401, 124, "Invalid access token."))
    with sync_client(handler, Renewing()) as zoom, pytest.raises(ZoomAuthError) as caught:
        zoom.get_json("/users/me")
    assert len(seen) == 1 + FAST.max_token_retries
    assert caught.value.status == 401 and caught.value.code == 124


def test_a_token_that_cannot_be_renewed_fails_at_once() -> None:
    handler, seen = scripted(zoom_error(401, 124, "Invalid access token."))
    with sync_client(handler) as zoom, pytest.raises(ZoomAuthError):
        zoom.get_json("/users/me")
    assert len(seen) == 1


# ---- 429 ----------------------------------------------------------------------------------------
def test_qps_limit_is_waited_out() -> None:
    handler, seen = scripted(
        zoom_error(429, 429, "rate", **{"X-RateLimit-Type": "QPS", "Retry-After": iso_in(0.3)}),
        ok(),
    )
    started = datetime.now(UTC)
    with sync_client(handler) as zoom:
        zoom.get_json("/users/me")
    assert len(seen) == 2
    assert datetime.now(UTC) - started >= timedelta(seconds=0.25)


def test_retry_after_in_seconds_and_missing() -> None:
    handler, seen = scripted(
        zoom_error(429, 429, "rate", **{"Retry-After": "0"}), zoom_error(429, 429, "rate"), ok()
    )
    with sync_client(handler) as zoom:
        zoom.get_json("/users/me")
    assert len(seen) == 3


def test_daily_limit_is_raised_at_once_with_the_reset_time() -> None:
    reset = "2030-01-02T00:00:00Z"
    handler, seen = scripted(
        zoom_error(
            429,
            429,
            "You have exceeded the daily rate limit (100) of Meeting Create/Update API requests",
            **{"X-RateLimit-Type": "Daily-limit", "Retry-After": reset},
        )
    )
    with sync_client(handler) as zoom, pytest.raises(ZoomRateLimitError) as caught:
        zoom.request("POST", "/users/me/meetings", json={})
    assert len(seen) == 1
    assert caught.value.limit_type == "Daily-limit"
    assert caught.value.reset_at == datetime(2030, 1, 2, tzinfo=UTC)
    assert "2030-01-02" in str(caught.value)


def test_a_far_reset_is_not_waited_for() -> None:
    handler, seen = scripted(
        zoom_error(429, 429, "rate", **{"X-RateLimit-Type": "QPS", "Retry-After": iso_in(3600)})
    )
    with sync_client(handler) as zoom, pytest.raises(ZoomRateLimitError):
        zoom.get_json("/users")
    assert len(seen) == 1


# ---- 5xx and network errors ---------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_5xx_retried_for_idempotent_methods(method: str) -> None:
    handler, seen = scripted(zoom_error(502, 502, "bad gateway"), ok(status=204))
    with sync_client(handler) as zoom:
        assert zoom.request(method, "/meetings/1").status_code == 204
    assert len(seen) == 2


def test_5xx_not_retried_for_post() -> None:
    handler, seen = scripted(zoom_error(500, 500, "oops"), ok())
    with sync_client(handler) as zoom, pytest.raises(ZoomServerError) as caught:
        zoom.request("POST", "/users/me/meetings", json={"topic": "x"})
    assert len(seen) == 1 and caught.value.status == 500


def test_5xx_retries_are_bounded() -> None:
    handler, seen = scripted(zoom_error(503, 503, "down"))
    with sync_client(handler) as zoom, pytest.raises(ZoomServerError):
        zoom.get_json("/users/me")
    assert len(seen) == FAST.max_attempts


def test_network_errors() -> None:
    cut = httpx.RemoteProtocolError("peer closed connection")
    handler, seen = scripted(cut, ok())
    with sync_client(handler) as zoom:
        zoom.get_json("/users/me")
    assert len(seen) == 2

    handler, seen = scripted(httpx.ReadError("reset"), ok())
    with sync_client(handler) as zoom, pytest.raises(ZoomServerError):
        zoom.request("POST", "/users/me/meetings", json={})
    assert len(seen) == 1

    handler, seen = scripted(httpx.ConnectError("refused"), ok())  # never sent: safe for POST
    with sync_client(handler) as zoom:
        zoom.request("POST", "/users/me/meetings", json={})
    assert len(seen) == 2


# ---- errors that are never retried --------------------------------------------------------------
def test_missing_scopes_from_zoom() -> None:
    message = (
        "Invalid access token, does not contain scopes:[cloud_recording:read:list_user_recordings, "
        "cloud_recording:read:list_user_recordings:admin]."
    )
    handler, seen = scripted(zoom_error(400, 4711, message))
    tokens = Renewing()
    with sync_client(handler, tokens) as zoom, pytest.raises(ZoomMissingScopesError) as caught:
        zoom.get_json("/users/me/recordings", operation="list_user_recordings")
    assert len(seen) == 1 and tokens.rejected == []
    error = caught.value
    assert error.missing_scopes == [
        "cloud_recording:read:list_user_recordings",
        "cloud_recording:read:list_user_recordings:admin",
    ]
    assert error.scopes_to_add == ["recording:read", "cloud_recording:read:list_user_recordings"]
    assert "prefect-zoom connect oauth --block test" in error.hint
    assert "Marketplace" in error.hint
    assert "v=2.0;rid=TRACK" in str(error)


def test_missing_scopes_known_before_sending() -> None:
    handler, seen = scripted(ok())
    tokens = Renewing(scopes=["meeting:read"])
    with sync_client(handler, tokens) as zoom, pytest.raises(ZoomMissingScopesError) as caught:
        zoom.get_json("/users/me/recordings", operation="list_user_recordings")
    assert seen == []
    assert "recording:read" in caught.value.scopes_to_add


def test_user_info_read_only_counts_for_me() -> None:
    handler, seen = scripted(ok())
    with sync_client(handler, Renewing(scopes=["user_info:read"])) as zoom:
        zoom.get_json("/users/me", operation="get_user")
        with pytest.raises(ZoomMissingScopesError):
            zoom.get_json("/users/someone@example.com", operation="get_user")
    assert len(seen) == 1


def test_unknown_operation_is_a_programming_error() -> None:
    handler, _ = scripted(ok())
    with sync_client(handler) as zoom, pytest.raises(ValueError, match="unknown Zoom operation"):
        zoom.get_json("/users/me", operation="no_such_thing")


def test_validation_not_found_and_invalid_grant() -> None:
    validation = httpx.Response(
        400,
        json={
            "code": 300,
            "message": "Validation Failed.",
            "errors": [{"field": "password", "message": "Too long"}],
        },
    )
    handler, _ = scripted(validation)
    with sync_client(handler) as zoom, pytest.raises(ZoomValidationError) as caught:
        zoom.request("POST", "/users/me/meetings", json={})
    assert caught.value.errors == [{"field": "password", "message": "Too long"}]
    assert "password: Too long" in str(caught.value)

    handler, _ = scripted(zoom_error(404, 3001, "Meeting does not exist: 1."))
    with sync_client(handler) as zoom, pytest.raises(ZoomNotFoundError):
        zoom.get_json("/meetings/1")

    handler, _ = scripted(
        httpx.Response(400, json={"reason": "Invalid Token!", "error": "invalid_grant"})
    )
    with sync_client(handler) as zoom, pytest.raises(ZoomAuthorizeAgainError):
        zoom.get_json("/users/me")


@pytest.mark.parametrize(
    ("message", "hinted"),
    [("Registration has not been enabled for this meeting: 1.", True), ("Not Found", False)],
)
def test_only_a_registration_404_says_to_turn_registration_on(message: str, hinted: bool) -> None:
    """Zoom's code 404 means "registration off" only with that message; a bare 404 (an unknown
    path behind a proxy, say) must not send the user to the meeting's settings."""
    handler, _ = scripted(zoom_error(404, 404, message))
    with sync_client(handler) as zoom, pytest.raises(ZoomNotFoundError) as caught:
        zoom.get_json("/meetings/1/registrants")
    assert ("Turn registration on" in str(caught.value)) is hinted


def test_error_text_names_everything_but_secrets() -> None:
    error = ZoomAPIError(
        "Meeting does not exist.",
        status=404,
        code=3001,
        tracking_id="trk",
        hint="Check the id.",
        method="GET",
        path="/v2/meetings/1",
    )
    text = str(error)
    for part in (
        "404",
        "3001",
        "Meeting does not exist.",
        "trk",
        "Check the id.",
        "GET /v2/meetings/1",
    ):
        assert part in text


# ---- paging -------------------------------------------------------------------------------------
def test_paginate_follows_tokens_and_stops_on_a_repeat(caplog: pytest.LogCaptureFixture) -> None:
    pages = [
        {"users": [{"id": 1}, {"id": 2}], "next_page_token": "A"},
        {"users": [{"id": 3}], "next_page_token": "B"},
        {"users": [{"id": 4}], "next_page_token": "A"},  # Zoom repeating itself
    ]
    handler, seen = scripted(*(ok(page) for page in pages))
    with sync_client(handler) as zoom:
        items = list(zoom.paginate("/users", "users", params={"status": "active"}))
    assert [item["id"] for item in items] == [1, 2, 3, 4]
    assert len(seen) == 3
    assert seen[0].url.params["page_size"] == "300"
    assert "next_page_token" not in seen[0].url.params
    assert seen[1].url.params["next_page_token"] == "A"
    assert seen[2].url.params["status"] == "active"
    assert "repeated" in caplog.text


def test_paginate_stops_on_an_empty_token() -> None:
    handler, seen = scripted(ok({"users": [{"id": 1}], "next_page_token": ""}))
    with sync_client(handler) as zoom:
        assert len(list(zoom.paginate("/users", "users"))) == 1
    assert len(seen) == 1


# ---- streams ------------------------------------------------------------------------------------
def test_stream_retries_before_the_body_and_follows_redirects() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return zoom_error(503, 503, "busy")
        if request.url.path.startswith("/rec/download"):
            return httpx.Response(302, headers={"location": "https://files.zoom.test/f.mp4"})
        return httpx.Response(200, content=b"x" * 1000, headers={"content-type": "video/mp4"})

    calls: list[httpx.Request] = []
    with (
        sync_client(handler) as zoom,
        zoom.stream("GET", "https://us06web.zoom.us/rec/download/abc") as response,
    ):
        body = b"".join(response.iter_bytes())
    assert body == b"x" * 1000
    assert calls[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert str(calls[-1].url) == "https://files.zoom.test/f.mp4"


# ---- async twins --------------------------------------------------------------------------------
async def test_async_client_shares_the_policy() -> None:
    handler, seen = scripted(
        zoom_error(401, 124, "Invalid access token."),
        zoom_error(503, 503, "busy"),
        zoom_error(429, 429, "rate", **{"Retry-After": "0"}),
        ok({"users": [{"id": 1}], "next_page_token": ""}),
    )
    tokens = Renewing()
    async with async_client(handler, tokens) as zoom:
        items = [item async for item in zoom.paginate("/users", "users")]
    assert items == [{"id": 1}] and len(seen) == 4 and tokens.rejected == ["tok-1"]

    handler, seen = scripted(zoom_error(500, 500, "oops"))
    async with async_client(handler) as zoom:
        with pytest.raises(ZoomServerError):
            await zoom.request("POST", "/users/me/meetings", json={})
    assert len(seen) == 1

    handler, _ = scripted(httpx.Response(200, content=b"abc"))
    async with (
        async_client(handler) as zoom,
        zoom.stream("GET", "https://api.zoom.test/rec/x") as response,
    ):
        assert await response.aread() == b"abc"


# ---- against the emulator over real HTTP --------------------------------------------------------
def configured(**settings: object) -> pytest.MarkDecorator:
    """Start this test's emulator with these settings (overrides the ``emulator_config`` fixture)."""
    return pytest.mark.parametrize("emulator_config", [EmulatorConfig(**settings)], ids=["cfg"])


@pytest.fixture
def s2s_client(zoom_emulator: ZoomEmulator) -> Iterator[ZoomClient]:
    with s2s_credentials(zoom_emulator).get_client(policy=FAST) as client:
        yield client


def test_s2s_users_me(zoom_emulator: ZoomEmulator, s2s_client: ZoomClient) -> None:
    me = s2s_client.get_json("/users/me", operation="get_user")
    assert me["email"] == zoom_emulator.config.user_email
    assert zoom_emulator.state.counters["grant account_credentials"] == 1
    s2s_client.get_json("/users/me", operation="get_user")
    assert zoom_emulator.state.counters["grant account_credentials"] == 1


def test_emulator_missing_scopes(zoom_emulator: ZoomEmulator) -> None:
    token = mint_token(zoom_emulator, scopes=["meeting:read"])
    zoom = ZoomClient(zoom_emulator.api_url, StaticToken(token))
    with zoom, pytest.raises(ZoomMissingScopesError) as caught:
        zoom.get_json("/users/me", operation="get_user")
    assert caught.value.status == 400 and caught.value.code == 4711
    assert "user:read:user" in caught.value.missing_scopes
    assert caught.value.tracking_id


def test_emulator_expired_s2s_token_is_replaced(
    zoom_emulator: ZoomEmulator, s2s_client: ZoomClient
) -> None:
    s2s_client.get_json("/users/me")
    for token in zoom_emulator.state.access_tokens.values():
        token.revoked = True
    assert s2s_client.get_json("/users/me")["email"]
    assert zoom_emulator.state.counters["grant account_credentials"] == 2


@configured(rate_limits="pro")
def test_emulator_qps_limit_is_waited_out(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, s2s_client: ZoomClient
) -> None:
    def call() -> None:
        for _ in range(4):
            s2s_client.get_json("/users", operation="list_users")

    s2s_client.get_json("/users/me")  # the token first
    with ThreadPoolExecutor(max_workers=10) as pool:
        calls = [pool.submit(call) for _ in range(10)]
    assert [done.exception(timeout=60) for done in calls] == [None] * 10
    assert zoom_emulator.state.counters["rate_limited QPS"] > 0


@configured(rate_limits="pro")
def test_emulator_daily_limit_is_raised_at_once(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, s2s_client: ZoomClient
) -> None:
    from zoom_emulator.models.ratelimit import MEETING_WRITES_PER_DAY

    today = (zoom_emulator.state.owner().id, datetime.now(UTC).date().isoformat())
    zoom_emulator.app.state.rate_limiter._meeting_writes[today] = MEETING_WRITES_PER_DAY
    before = zoom_emulator.state.counters["rate_limited Daily-limit"]
    with pytest.raises(ZoomRateLimitError) as caught:
        s2s_client.request(
            "POST", "/users/me/meetings", operation="create_meeting", json={"topic": "t", "type": 2}
        )
    assert caught.value.limit_type == "Daily-limit"
    assert caught.value.reset_at is not None and caught.value.reset_at > datetime.now(UTC)
    assert zoom_emulator.state.counters["rate_limited Daily-limit"] == before + 1


@configured(faults=FaultSettings(error_rate=0.0, seed=7))
def test_emulator_5xx_retried_on_get_not_on_post(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, s2s_client: ZoomClient
) -> None:
    s2s_client.get_json("/users/me")  # the token first, while the emulator is healthy
    zoom_emulator.state.config.faults.error_rate = 1.0
    with pytest.raises(ZoomServerError):
        s2s_client.get_json("/users/me", operation="get_user")
    assert zoom_emulator.state.counters["fault 5xx"] == FAST.max_attempts
    with pytest.raises(ZoomServerError):
        s2s_client.request("POST", "/users/me/meetings", json={"topic": "t"})
    assert zoom_emulator.state.counters["fault 5xx"] == FAST.max_attempts + 1
    zoom_emulator.state.config.faults.error_rate = 0.3
    for _ in range(10):  # 30 % of answers fail: every GET still succeeds
        assert s2s_client.get_json("/users/me")["email"]
