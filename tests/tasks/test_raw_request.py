"""The raw request activity against the emulator over real HTTP: answers, pages, refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from helpers.connections import s2s_credentials
from helpers.flows import failure_and_runs
from helpers.recordings import configured
from prefect import flow
from prefect.states import Failed

from prefect_zoom.catalog import OPERATIONS, RateLabel
from prefect_zoom.client._base import Pager
from prefect_zoom.exceptions import (
    ZoomInputError,
    ZoomMissingScopesError,
    ZoomNotFoundError,
    ZoomRateLimitError,
    ZoomServerError,
)
from prefect_zoom.tasks import zoom_request
from prefect_zoom.tasks.raw import (
    DEFAULT_RAW_LABEL,
    JSONAnswer,
    check_api_path,
    raw_operation,
    retry_if_zoom_did_not_act,
)
from zoom_emulator import EmulatorConfig, ZoomEmulator
from zoom_emulator.models.ratelimit import MEETING_WRITES_PER_DAY


def test_get_me_and_create_then_read_a_meeting(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)

    @flow
    def calls(credentials: str) -> tuple[JSONAnswer, JSONAnswer, JSONAnswer]:
        me = zoom_request(credentials, "get", "/users/me")
        body = {"topic": "Raw", "type": 2, "start_time": start.isoformat(), "duration": 30}
        created = zoom_request(credentials, "POST", "users/me/meetings", json=body)
        assert isinstance(created, dict)
        again = zoom_request(credentials, "GET", f"/meetings/{created['id']}/")
        return me, created, again

    me, created, again = calls(block_name)
    assert isinstance(me, dict) and isinstance(created, dict) and isinstance(again, dict)
    assert me["email"] == zoom_emulator.config.user_email
    assert again["id"] == created["id"] and again["topic"] == "Raw"
    counters = zoom_emulator.state.counters
    assert counters["POST /v2/users/{userId}/meetings 201"] == 1  # sent once
    assert counters["GET /v2/meetings/{meetingId} 200"] == 1


@configured(seed_users=5)
def test_paginate_follows_every_page_and_detects_the_list(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    @flow
    def everyone(credentials: str) -> tuple[JSONAnswer, JSONAnswer]:
        detected = zoom_request(
            credentials, "GET", "/users", params={"status": "active", "page_size": 2}, paginate=True
        )
        named = zoom_request(credentials, "GET", "/users", paginate=True, items_key="users")
        return detected, named

    detected, named = everyone(block_name)
    assert isinstance(detected, list) and isinstance(named, list)
    assert len(detected) == 5 and len({user["id"] for user in detected}) == 5
    assert {user["id"] for user in named} == {user["id"] for user in detected}
    assert zoom_emulator.state.counters["GET /v2/users 200"] == 3 + 1  # pages of 2, then one of 300


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("path", {"path": "https://evil.example.com/v2/users/me"}),
        ("path", {"path": "//evil.example.com/users/me"}),
        ("path", {"path": "/users/../../oauth/token"}),
        ("path", {"path": "/users/%2e%2e/oauth/token"}),
        ("path", {"path": "/users//me"}),
        ("path", {"path": "/users?status=active"}),
        ("path", {"path": "/users\\me"}),
        ("path", {"path": ""}),
        ("method", {"method": "TRACE"}),
        ("paginate", {"method": "POST", "paginate": True}),
        ("params", {"params": ["status", "active"]}),
    ],
)
def test_input_that_could_leave_the_api_is_refused_before_any_request(
    shared_emulator: ZoomEmulator, field: str, kwargs: dict[str, Any]
) -> None:
    call: dict[str, Any] = {"method": "GET", "path": "/users/me", **kwargs}
    credentials = s2s_credentials(shared_emulator)

    @flow
    def send() -> Any:
        return zoom_request(credentials, **call)

    before = shared_emulator.state.counters["requests"]
    with pytest.raises(ZoomInputError) as caught:
        send()
    assert caught.value.field == field
    assert caught.value.fix
    assert shared_emulator.state.counters["requests"] == before


def test_a_path_outside_the_catalog_is_sent_with_the_default_label_and_404_is_not_retried(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    assert raw_operation("GET", "/users/me/settings").label == DEFAULT_RAW_LABEL
    assert raw_operation("GET", "/users/me/settings").all_scopes == ()
    assert raw_operation("get", "/users/ada@example.com") is OPERATIONS["get_user"]

    @flow
    def missing(credentials: str) -> tuple[BaseException, int]:
        state = zoom_request(credentials, "GET", "/users/me/settings", return_state=True)
        return failure_and_runs(state)

    error, runs = missing(block_name)
    assert isinstance(error, ZoomNotFoundError) and error.status == 404
    assert runs == 1


def test_a_catalog_path_has_its_scopes_checked(zoom_emulator: ZoomEmulator) -> None:
    block = f"zoom-s2s-raw-{uuid.uuid4().hex[:10]}"
    s2s_credentials(zoom_emulator).save(block, overwrite=True)
    granted = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
    granted.scopes = ["meeting:read", "meeting:write"]  # no user:read of any kind

    @flow
    def listing(credentials: str) -> tuple[BaseException, int]:
        return failure_and_runs(zoom_request(credentials, "GET", "/users", return_state=True))

    error, runs = listing(block)  # the token's scopes are not known yet: Zoom answers 400/4711
    assert isinstance(error, ZoomMissingScopesError) and error.code == 4711 and runs == 1
    before = zoom_emulator.state.counters["requests"]
    error, runs = listing(block)  # now the block knows its scopes: refused before sending
    assert isinstance(error, ZoomMissingScopesError) and runs == 1
    assert zoom_emulator.state.counters["requests"] == before
    assert "user:read:list_users:admin" in error.scopes_to_add


@configured(rate_limits="pro")
def test_a_daily_429_on_a_post_is_raised_once(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    host = zoom_emulator.state.owner().id
    writes = zoom_emulator.app.state.rate_limiter._meeting_writes
    writes[(host, datetime.now(UTC).date().isoformat())] = MEETING_WRITES_PER_DAY
    late = {"topic": "Late"}

    @flow
    def create(credentials: str) -> tuple[BaseException, int]:
        post = zoom_request(credentials, "POST", "/users/me/meetings", json=late, return_state=True)
        return failure_and_runs(post)

    error, runs = create(block_name)
    assert isinstance(error, ZoomRateLimitError) and error.limit_type == "Daily-limit"
    assert runs == 1
    assert zoom_emulator.state.counters["POST /v2/users/{userId}/meetings 429"] == 1


def test_a_post_is_retried_only_when_zoom_did_not_act() -> None:
    def retried(error: BaseException) -> bool:
        return retry_if_zoom_did_not_act(None, None, Failed(data=error))  # type: ignore[arg-type]

    never_sent = ZoomServerError("Zoom could not be reached", method="POST")
    never_sent.__cause__ = httpx.ConnectError("refused")
    assert retried(never_sent)
    assert not retried(ZoomServerError("Internal Server Error", status=500, method="POST"))
    assert retried(ZoomServerError("Internal Server Error", status=500, method="GET"))
    assert retried(ZoomRateLimitError("slow down", status=429, limit_type="QPS"))
    assert not retried(ZoomRateLimitError("tomorrow", status=429, limit_type="Daily-limit"))
    assert not retried(ZoomNotFoundError("gone", status=404))


def test_check_api_path_normalises_slashes() -> None:
    assert check_api_path(" users/me/ ") == "/users/me"
    assert check_api_path("/meetings/85012345678") == "/meetings/85012345678"
    assert DEFAULT_RAW_LABEL is RateLabel.MEDIUM


def test_a_page_with_several_lists_asks_for_items_key() -> None:
    pager = Pager("/report/things", None)
    assert pager.take({"things": [{"id": 1}], "next_page_token": ""}) == [{"id": 1}]
    with pytest.raises(ZoomInputError) as caught:
        Pager("/report/things", None).take({"things": [], "others": []})
    assert caught.value.field == "items_key" and "others, things" in caught.value.problem
