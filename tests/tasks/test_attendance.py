"""Attendance tasks (past meeting instances, details, participants, the report) in Prefect flows,
against the emulator over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers.connections import s2s_credentials
from helpers.flows import failure_and_runs, refused_in_a_flow
from helpers.limits import use_up_per_second_limit
from helpers.recordings import configured
from prefect import flow
from prefect.states import State

from prefect_zoom.client.errors import PAID_PLAN_HINT
from prefect_zoom.exceptions import (
    ZoomAPIError,
    ZoomMissingScopesError,
    ZoomNotFoundError,
)
from prefect_zoom.models import Participant, PastMeeting, PastMeetingInstance
from prefect_zoom.tasks import (
    get_past_meeting,
    list_past_meeting_instances,
    list_past_meeting_participants,
    report_meeting_participants,
)
from zoom_emulator import EmulatorConfig, ZoomEmulator

SLASHED_UUID = "/xY//attendanceUUID0=="
PARTICIPANTS_ROUTE = "GET /v2/past_meetings/{meetingId}/participants"


def hold(emulator: ZoomEmulator, **fields: Any) -> dict[str, Any]:
    """Hold a meeting in the emulator; its details as answered."""
    answer: dict[str, Any] = emulator.control("POST", "past_meetings", json=fields)
    return answer


def people(count: int) -> list[dict[str, Any]]:
    return [{"name": f"Person {n}", "sessions": [[n, n + 10]]} for n in range(count)]


def test_instances_details_and_both_views(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    first = hold(zoom_emulator, start_time="2026-11-02T09:00:00Z", attendees=people(5))
    second = hold(
        zoom_emulator,
        meeting_id=first["id"],
        start_time="2026-11-09T09:00:00Z",
        uuid=SLASHED_UUID,
        attendees=[{"name": "Ada", "sessions": [[0, 5], [10, 20]]}],
    )

    @flow
    def attendance(credentials: str) -> dict[str, Any]:
        return {
            "instances": list_past_meeting_instances(credentials, first["id"]),
            "details": get_past_meeting(credentials, SLASHED_UUID),
            "past": list_past_meeting_participants(credentials, first["uuid"], page_size=2),
            "report": report_meeting_participants(credentials, first["uuid"], page_size=2),
            "slashed": list_past_meeting_participants(credentials, SLASHED_UUID),
        }

    found = attendance(block_name)
    assert found["instances"] == [
        PastMeetingInstance(uuid=first["uuid"], start_time=datetime(2026, 11, 2, 9, tzinfo=UTC)),
        PastMeetingInstance(uuid=SLASHED_UUID, start_time=datetime(2026, 11, 9, 9, tzinfo=UTC)),
    ]
    details: PastMeeting = found["details"]
    assert (details.id, details.uuid, details.total_minutes) == (first["id"], SLASHED_UUID, 15)
    assert details == PastMeeting.model_validate(second)
    past: list[Participant] = found["past"]
    assert [p.name for p in past] == [f"Person {n}" for n in range(5)]  # three pages of two
    assert all(p.duration == 600 and p.email == "" for p in past)
    assert past[1].join_time == datetime(2026, 11, 2, 9, 1, tzinfo=UTC)
    assert found["report"] == past
    assert [(p.name, p.duration) for p in found["slashed"]] == [("Ada", 300), ("Ada", 600)]
    counters = zoom_emulator.state.counters
    assert counters[f"{PARTICIPANTS_ROUTE} 200"] == 4  # 3 pages + the slashed instance


def test_failures_are_raised_at_once(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    held = hold(zoom_emulator, attendees=people(2))

    @flow
    def failing(credentials: str) -> list[tuple[BaseException, int]]:
        calls: list[State[Any]] = [
            list_past_meeting_participants(credentials, "NoSuchInstance==", return_state=True),
            list_past_meeting_instances(credentials, 81_999_999_999, return_state=True),
        ]
        zoom_emulator.state.accounts[zoom_emulator.config.account_id].plan = "basic"
        calls.append(report_meeting_participants(credentials, held["uuid"], return_state=True))
        return [failure_and_runs(state) for state in calls]

    (unknown, runs1), (no_meeting, runs2), (free, runs3) = failing(block_name)
    assert runs1 == runs2 == runs3 == 1
    assert isinstance(unknown, ZoomNotFoundError) and unknown.code == 3001
    assert isinstance(no_meeting, ZoomNotFoundError) and "81999999999" in no_meeting.message
    assert type(free) is ZoomAPIError and (free.status, free.code) == (400, 200)
    assert (
        free.message.startswith("Only available for paid account") and free.hint == PAID_PLAN_HINT
    )


def test_missing_report_scope_is_not_retried(zoom_emulator: ZoomEmulator) -> None:
    held = hold(zoom_emulator, attendees=people(2))
    app = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
    app.scopes = [s for s in app.scopes if not s.startswith("report:")]
    name = f"zoom-s2s-{uuid.uuid4().hex[:10]}"
    s2s_credentials(zoom_emulator).save(name, overwrite=True)

    @flow
    def reading(credentials: str) -> tuple[tuple[BaseException, int], list[Participant]]:
        refused = report_meeting_participants(credentials, held["id"], return_state=True)
        return failure_and_runs(refused), list_past_meeting_participants(credentials, held["id"])

    (error, runs), past = reading(name)
    assert isinstance(error, ZoomMissingScopesError) and runs == 1
    assert error.scopes_to_add == [
        "report:read:admin",
        "report:read:list_meeting_participants:admin",
    ]
    assert [p.name for p in past] == ["Person 0", "Person 1"]  # the other view still works


@configured(rate_limits="pro")
def test_a_per_second_429_is_waited_out(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    held = hold(zoom_emulator, attendees=people(3))

    @flow
    def listing(credentials: str) -> list[Participant]:
        use_up_per_second_limit(zoom_emulator, "Medium", seconds=3)  # participants: Medium
        return list_past_meeting_participants(credentials, held["uuid"])

    assert len(listing(block_name)) == 3
    counters = zoom_emulator.state.counters
    assert counters[f"{PARTICIPANTS_ROUTE} 429"] >= 1 and counters[f"{PARTICIPANTS_ROUTE} 200"] == 1


BAD_INPUTS: list[tuple[str, Callable[[str], Any]]] = [
    ("meeting_id", lambda c: list_past_meeting_instances(c, 0)),
    ("meeting_id", lambda c: list_past_meeting_instances(c, "NotANumber==")),  # type: ignore[call-overload]
    ("meeting_id", lambda c: get_past_meeting(c, "  ")),
    ("meeting_id", lambda c: list_past_meeting_participants(c, "uuid?page_size=1")),
    ("meeting_id", lambda c: report_meeting_participants(c, "..")),
    ("page_size", lambda c: list_past_meeting_participants(c, 81000000001, page_size=301)),
    ("page_size", lambda c: report_meeting_participants(c, 81000000001, page_size=0)),
]


@pytest.mark.parametrize(("field", "call"), BAD_INPUTS, ids=[f for f, _ in BAD_INPUTS])
def test_bad_input_is_refused_before_any_request(
    zoom_emulator: ZoomEmulator, block_name: str, field: str, call: Callable[[str], Any]
) -> None:
    error = refused_in_a_flow(block_name, call)
    assert zoom_emulator.state.counters["requests"] == 0
    assert error.field == field and error.fix, str(error)
