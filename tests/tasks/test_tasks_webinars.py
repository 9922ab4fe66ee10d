"""Webinar tasks in Prefect flows, against the emulator over real HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from helpers.connections import s2s_credentials
from helpers.flows import failure_and_runs
from helpers.limits import use_up_per_second_limit
from helpers.recordings import configured
from prefect import flow

from prefect_zoom.exceptions import (
    ZoomAPIError,
    ZoomInputError,
    ZoomMissingScopesError,
    ZoomNotFoundError,
    ZoomServerError,
)
from prefect_zoom.models import Webinar
from prefect_zoom.tasks import (
    delete_webinar,
    get_webinar,
    list_webinars,
    schedule_no_fixed_time_webinar,
    schedule_one_time_webinar,
    schedule_recurring_webinar,
    update_webinar,
)
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator

CREATE_ROUTE = "POST /v2/users/{userId}/webinars"
LAUNCH = datetime(2031, 6, 2, 16, tzinfo=UTC)  # upcoming
LAST_YEAR = datetime(2024, 6, 2, 16, tzinfo=UTC)  # over
MONDAYS = {"type": 2, "weekly_days": "monday", "end_times": 4}


def test_webinar_lifecycle(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    @flow
    def lifecycle(credentials: str) -> dict[str, object]:
        webinar = schedule_one_time_webinar(
            credentials,
            "Product launch",
            LAUNCH,
            60,
            password="launch1",
            settings={"approval_type": 0},
        )
        past = schedule_one_time_webinar(credentials, "Last year", LAST_YEAR, 30)
        found = {
            "webinar": webinar,
            "fetched": get_webinar(credentials, webinar.id),
            "scheduled": list_webinars(credentials),
            "upcoming": list_webinars(credentials, type="upcoming"),
        }
        delete_webinar(credentials, past.id)
        found["after_delete"] = list_webinars(credentials)
        return found

    out = lifecycle(block_name)
    webinar = out["webinar"]
    assert isinstance(webinar, Webinar) and webinar.type == 5
    assert webinar.start_time == LAUNCH and webinar.duration == 60
    assert webinar.password == "launch1" and webinar.join_url
    assert "start_url" not in repr(webinar) and "launch1" not in repr(webinar)
    fetched = out["fetched"]
    assert isinstance(fetched, Webinar) and fetched.id == webinar.id and fetched.host_id
    assert [w.topic for w in out["scheduled"]] == ["Last year", "Product launch"]  # type: ignore[attr-defined]
    assert [w.id for w in out["upcoming"]] == [webinar.id]  # type: ignore[attr-defined]
    assert [w.id for w in out["after_delete"]] == [webinar.id]  # type: ignore[attr-defined]
    assert list(zoom_emulator.state.webinars) == [webinar.id]


def test_failures(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    basic = zoom_emulator.state.add_user("basic@example.com", "Bas", "Ic")
    basic.type = 1

    @flow
    def failing(credentials: str) -> list[tuple[BaseException, int]]:
        return [
            failure_and_runs(get_webinar(credentials, 81_000_000_999, return_state=True)),
            failure_and_runs(
                schedule_one_time_webinar(
                    credentials, "No plan", LAUNCH, 30, user_id=basic.email, return_state=True
                )
            ),
        ]

    (missing, runs1), (no_plan, runs2) = failing(block_name)
    assert runs1 == runs2 == 1
    assert isinstance(missing, ZoomNotFoundError) and missing.code == 3001
    assert isinstance(no_plan, ZoomAPIError) and (no_plan.status, no_plan.code) == (400, 200)
    assert "Subscription plan for webinar is missing" in str(no_plan)
    assert zoom_emulator.state.webinars == {}


@flow
def schedule_failing(credentials: str) -> tuple[BaseException, int]:
    """Schedule a webinar that must fail: the error and how many times the task ran."""
    state = schedule_one_time_webinar(credentials, "Once", LAUNCH, 30, return_state=True)
    return failure_and_runs(state)


def test_missing_scope_is_not_retried(zoom_emulator: ZoomEmulator) -> None:
    app = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
    app.scopes = [s for s in app.scopes if not s.startswith("webinar:write")]
    name = f"zoom-s2s-{uuid.uuid4().hex[:10]}"  # a new block: a token with fewer scopes
    s2s_credentials(zoom_emulator).save(name, overwrite=True)

    error, runs = schedule_failing(name)
    assert isinstance(error, ZoomMissingScopesError) and runs == 1
    assert error.scopes_to_add == ["webinar:write", "webinar:write:webinar"]
    assert zoom_emulator.state.counters[f"{CREATE_ROUTE} 400"] == 1


@configured(faults=FaultSettings(lost_write_rate=1.0))
def test_a_lost_create_answer_is_not_retried(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    """Zoom may have created the webinar: another try could make a second one."""
    error, runs = schedule_failing(block_name)
    assert isinstance(error, ZoomServerError) and runs == 1
    assert zoom_emulator.state.counters["fault lost write"] == 1
    assert [w.topic for w in zoom_emulator.state.webinars.values()] == ["Once"]


@configured(rate_limits="pro")
def test_a_per_second_429_is_waited_out(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:

    @flow
    def listing(credentials: str) -> list[Webinar]:
        use_up_per_second_limit(zoom_emulator, "Medium", seconds=3)  # the list is a Medium call
        return list_webinars(credentials)

    assert listing(block_name) == []
    counters = zoom_emulator.state.counters
    assert counters["rate_limited QPS"] >= 1
    assert counters["GET /v2/users/{userId}/webinars 200"] == 1


def test_recurring_webinars_and_updates(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    @flow
    def series(credentials: str) -> dict[str, Webinar]:
        weekly = schedule_recurring_webinar(credentials, "Weekly demo", LAUNCH, 45, MONDAYS)
        floating = schedule_no_fixed_time_webinar(credentials, "Any time", 30)
        second = weekly.occurrences[1].occurrence_id
        renamed = update_webinar(credentials, weekly.id, {"topic": "Weekly demo (new)"})
        moved = update_webinar(
            credentials,
            weekly.id,
            {"start_time": datetime(2031, 6, 10, 17, tzinfo=UTC), "duration": 60},
            occurrence_id=second,
        )
        return {"weekly": weekly, "floating": floating, "renamed": renamed, "moved": moved}

    out = series(block_name)
    weekly = out["weekly"]
    assert weekly.type == 9 and len(weekly.occurrences) == 4
    assert [o.start_time.day for o in weekly.occurrences] == [2, 9, 16, 23]  # Mondays of June
    assert out["floating"].type == 6 and out["floating"].start_time is None
    assert out["renamed"].topic == "Weekly demo (new)" and out["renamed"].id == weekly.id
    stored = zoom_emulator.state.webinars[weekly.id]
    assert stored.topic == "Weekly demo (new)"
    assert [o["start_time"] for o in stored.occurrences or []][:2] == [
        "2031-06-02T16:00:00Z",
        "2031-06-10T17:00:00Z",  # only the second occurrence moved
    ]
    assert out["moved"].start_time == datetime(2031, 6, 10, 17, tzinfo=UTC)  # read back
    assert zoom_emulator.state.counters["PATCH /v2/webinars/{webinarId} 204"] == 2


def test_an_update_without_the_read_scope_changes_nothing(zoom_emulator: ZoomEmulator) -> None:
    app = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
    app.scopes = [s for s in app.scopes if not s.startswith("webinar:read")]
    name = f"zoom-s2s-{uuid.uuid4().hex[:10]}"
    s2s_credentials(zoom_emulator).save(name, overwrite=True)

    @flow
    def rename(credentials: str) -> tuple[BaseException, int]:
        webinar = schedule_one_time_webinar(credentials, "Keep", LAUNCH, 30)
        state = update_webinar(credentials, webinar.id, {"topic": "Changed"}, return_state=True)
        return failure_and_runs(state)

    error, runs = rename(name)
    assert isinstance(error, ZoomMissingScopesError) and runs == 1
    assert "webinar:read:webinar" in error.scopes_to_add
    assert [w.topic for w in zoom_emulator.state.webinars.values()] == ["Keep"]
    assert zoom_emulator.state.counters["PATCH /v2/webinars/{webinarId} 204"] == 0


@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("webinar.topic", lambda c: schedule_one_time_webinar(c, " ", LAUNCH, 30)),
        (
            "start_time",
            lambda c: schedule_one_time_webinar(c, "t", datetime(2031, 1, 1, 9), 30),
        ),
        ("webinar.duration", lambda c: schedule_one_time_webinar(c, "t", LAUNCH, 0)),
        (
            "webinar.password",
            lambda c: schedule_one_time_webinar(c, "t", LAUNCH, 30, password="x" * 11),
        ),
        ("webinar_id", lambda c: get_webinar(c, 0)),
        ("webinar_id", lambda c: delete_webinar(c, "abc")),  # type: ignore[call-overload]
        ("type", lambda c: list_webinars(c, type="past")),  # type: ignore[call-overload]
        (
            "webinar.recurrence",
            lambda c: schedule_recurring_webinar(c, "t", LAUNCH, 30, {"type": 2}),
        ),
        (
            "webinar.recurrence",
            lambda c: schedule_recurring_webinar(c, "t", LAUNCH, 30, None),  # type: ignore[call-overload]
        ),
        ("webinar.topic", lambda c: schedule_no_fixed_time_webinar(c, "")),
        ("changes", lambda c: update_webinar(c, 81_000_000_001, {})),
        ("changes.duration", lambda c: update_webinar(c, 81_000_000_001, {"duration": -1})),
        (
            "occurrence_id",
            lambda c: update_webinar(c, 81_000_000_001, {"topic": "t"}, occurrence_id=" "),
        ),
    ],
)
def test_bad_input_is_refused_before_any_request(
    zoom_emulator: ZoomEmulator, block_name: str, field: str, make: object
) -> None:
    @flow
    def refused(credentials: str) -> ZoomInputError:
        with pytest.raises(ZoomInputError) as caught:
            make(credentials)  # type: ignore[operator]
        return caught.value

    error = refused(block_name)
    assert zoom_emulator.state.counters["requests"] == 0
    assert field in str(error) and error.fix
