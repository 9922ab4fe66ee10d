"""Meeting registrant tasks in Prefect flows, against the emulator over real HTTP."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.connections import s2s_credentials
from helpers.flows import failure_and_runs, run_count
from helpers.limits import use_up_per_second_limit
from helpers.recordings import configured
from prefect import flow
from prefect.states import State

from prefect_zoom.exceptions import (
    ZoomInputError,
    ZoomMissingScopesError,
    ZoomNotFoundError,
    ZoomValidationError,
)
from prefect_zoom.models import Meeting, MeetingRegistrant, Registrant, RegistrationQuestions
from prefect_zoom.tasks import (
    add_meeting_registrant,
    create_meeting,
    delete_meeting_registrant,
    get_meeting_registration_questions,
    list_meeting_registrants,
    update_meeting_registrant_status,
    update_meeting_registration_questions,
)
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator

LIST_ROUTE = "GET /v2/meetings/{meetingId}/registrants"
STATUS_ROUTE = "PUT /v2/meetings/{meetingId}/registrants/status"
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


@flow
def new_meeting(credentials: str, approval_type: int = 1) -> Meeting:
    """A scheduled meeting for tomorrow; registration on unless ``approval_type`` is 2."""
    return create_meeting(
        credentials,
        {
            "topic": "Registration",
            "start_time": TOMORROW,
            "settings": {"approval_type": approval_type},
        },
    )


def people(count: int) -> list[dict[str, str]]:
    return [{"email": f"person{n}@example.com", "first_name": f"Person{n}"} for n in range(count)]


def test_registrants_from_pending_to_deleted(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    meeting_id = new_meeting(block_name).id

    @flow
    def registration(credentials: str) -> dict[str, Any]:
        added = [add_meeting_registrant(credentials, meeting_id, p) for p in people(5)]
        pending = list_meeting_registrants(credentials, meeting_id, "pending", page_size=2)
        approved = update_meeting_registrant_status(
            credentials,
            meeting_id,
            "approve",
            [added[0].registrant_id or "", "PERSON1@example.com", "person2@example.com"],
        )
        update_meeting_registrant_status(credentials, meeting_id, "deny", ["person3@example.com"])
        update_meeting_registrant_status(credentials, meeting_id, "cancel", ["person2@example.com"])
        deleted = delete_meeting_registrant(credentials, meeting_id, added[1].registrant_id or "")
        return {
            "added": added,
            "pending": pending,
            "approved": approved,
            "deleted": deleted,
            "by_status": {
                status: list_meeting_registrants(credentials, meeting_id, status)
                for status in ("approved", "pending", "denied")
            },
        }

    out = registration(block_name)
    added: list[Registrant] = out["added"]
    pending: list[MeetingRegistrant] = out["pending"]
    assert [r.email for r in pending] == [p["email"] for p in people(5)]
    assert [r.id for r in pending] == [a.registrant_id for a in added]
    assert all(r.status == "pending" and r.join_url for r in pending)
    counters = zoom_emulator.state.counters
    assert counters[f"{LIST_ROUTE} 200"] == 3 + 3  # three pages of two, then one list per status
    assert out["approved"] == 3 and out["deleted"] is True
    emails = {s: [r.email for r in found] for s, found in out["by_status"].items()}
    assert emails == {
        "approved": ["person0@example.com"],  # person1 deleted
        "pending": ["person4@example.com"],
        "denied": ["person2@example.com", "person3@example.com"],  # cancel shows as denied
    }


def test_status_changes_go_30_at_a_time(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    meeting_id = new_meeting(block_name).id
    registrants = zoom_emulator.state.meetings[meeting_id].registrants
    crowd = people(65)

    @flow
    def approve_all(credentials: str) -> list[MeetingRegistrant]:
        for person in crowd:
            add_meeting_registrant.fn(credentials, meeting_id, person)
        update_meeting_registrant_status(
            credentials, meeting_id, "approve", [p["email"] for p in crowd]
        )
        return list_meeting_registrants(credentials, meeting_id)

    assert len(approve_all(block_name)) == len(registrants) == 65
    assert zoom_emulator.state.counters[f"{STATUS_ROUTE} 204"] == math.ceil(65 / 30)


def test_registration_questions(block_name: str) -> None:
    meeting_id = new_meeting(block_name).id
    form = {
        "questions": [{"field_name": "org", "required": True}],
        "custom_questions": [{"title": "Diet?", "type": "single", "answers": ["veg", "any"]}],
    }

    @flow
    def questions(credentials: str) -> tuple[RegistrationQuestions, RegistrationQuestions]:
        before = get_meeting_registration_questions(credentials, meeting_id)
        update_meeting_registration_questions(credentials, meeting_id, form)
        update_meeting_registration_questions(credentials, meeting_id, {"questions": []})
        return before, get_meeting_registration_questions(credentials, meeting_id)

    before, after = questions(block_name)
    assert before.questions == [] and before.custom_questions == []
    assert after.questions == []  # replaced by the second update
    assert after.custom_questions is not None
    assert [(q.title, q.type, q.answers) for q in after.custom_questions] == [
        ("Diet?", "single", ["veg", "any"])
    ]


def _seed_losing_first_write() -> int:
    """A fault seed whose dice lose the first write at lost_write_rate 0.5 and keep the second."""
    for seed in range(1000):
        dice = random.Random(seed)
        if dice.random() < 0.5 <= dice.random():
            return seed
    raise AssertionError("no seed found")  # pragma: no cover


@configured(faults=FaultSettings(seed=_seed_losing_first_write()))
def test_a_retried_add_registers_once(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    meeting_id = new_meeting(block_name).id

    @flow
    def add_once_lost(credentials: str) -> tuple[Registrant, int]:
        zoom_emulator.state.config.faults.lost_write_rate = 0.5
        try:
            state = add_meeting_registrant(credentials, meeting_id, people(1)[0], return_state=True)
        finally:
            zoom_emulator.state.config.faults.lost_write_rate = 0.0
        return state.result(), run_count(state)

    registrant, runs = add_once_lost(block_name)
    assert zoom_emulator.state.counters["fault lost write"] == 1
    assert runs == 2  # the lost answer failed the first run; Prefect ran it again
    stored = zoom_emulator.state.meetings[meeting_id].registrants
    assert [r.id for r in stored] == [registrant.registrant_id]


def test_failures_are_raised_at_once(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    closed_id = new_meeting(block_name, approval_type=2).id
    open_id = new_meeting(block_name).id

    @flow
    def failing(credentials: str) -> list[tuple[BaseException, int]]:
        calls: list[State[Any]] = [
            list_meeting_registrants(credentials, 81_000_000_999, return_state=True),
            list_meeting_registrants(credentials, closed_id, return_state=True),
            delete_meeting_registrant(credentials, open_id, "nobody", return_state=True),
        ]
        return [failure_and_runs(state) for state in calls]

    (unknown, runs1), (closed, runs2), (nobody, runs3) = failing(block_name)
    assert runs1 == runs2 == runs3 == 1
    assert isinstance(unknown, ZoomNotFoundError) and unknown.code == 3001
    assert isinstance(closed, ZoomNotFoundError) and closed.code == 404
    assert str(closed_id) in closed.message and "approval_type" in closed.hint
    assert isinstance(nobody, ZoomValidationError) and nobody.code == 300

    @flow
    def tolerant(credentials: str) -> bool:
        return delete_meeting_registrant(credentials, open_id, "nobody", missing_ok=True)

    assert tolerant(block_name) is False


def test_missing_scope_is_not_retried(zoom_emulator: ZoomEmulator) -> None:
    app = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
    name = f"zoom-s2s-{uuid.uuid4().hex[:10]}"
    s2s_credentials(zoom_emulator).save(name, overwrite=True)
    meeting_id = new_meeting(name).id
    app.scopes = [s for s in app.scopes if not s.startswith("meeting:read")]
    name = f"zoom-s2s-{uuid.uuid4().hex[:10]}"  # a new block: a new token with fewer scopes
    s2s_credentials(zoom_emulator).save(name, overwrite=True)

    @flow
    def listing(credentials: str) -> tuple[BaseException, int]:
        return failure_and_runs(
            list_meeting_registrants(credentials, meeting_id, return_state=True)
        )

    error, runs = listing(name)
    assert isinstance(error, ZoomMissingScopesError) and runs == 1
    assert error.status == 400 and error.code == 4711
    assert error.scopes_to_add == ["meeting:read", "meeting:read:list_registrants"]
    assert zoom_emulator.state.counters[f"{LIST_ROUTE} 400"] == 1


@configured(rate_limits="pro")
def test_a_per_second_429_is_waited_out(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    meeting_id = new_meeting(block_name).id

    @flow
    def listing(credentials: str) -> list[MeetingRegistrant]:
        use_up_per_second_limit(zoom_emulator, "Medium", seconds=3)  # the list is a Medium call
        return list_meeting_registrants(credentials, meeting_id, "pending")

    assert listing(block_name) == []
    counters = zoom_emulator.state.counters
    assert counters["rate_limited QPS"] >= 1
    assert counters[f"{LIST_ROUTE} 429"] >= 1 and counters[f"{LIST_ROUTE} 200"] == 1


BAD_INPUTS: list[tuple[str, Callable[[str], Any]]] = [
    ("meeting_id", lambda c: list_meeting_registrants(c, 0)),
    ("status", lambda c: list_meeting_registrants(c, 81000000001, "waiting")),  # type: ignore[call-overload]
    ("page_size", lambda c: list_meeting_registrants(c, 81000000001, page_size=301)),
    (
        "action",
        lambda c: update_meeting_registrant_status(c, 81000000001, "accept", ["a@b.io"]),  # type: ignore[call-overload]
    ),
    ("registrants", lambda c: update_meeting_registrant_status(c, 81000000001, "approve", [])),
    (
        "registrants.1",
        lambda c: update_meeting_registrant_status(c, 81000000001, "deny", ["x", ""]),
    ),
    ("registrant_id", lambda c: delete_meeting_registrant(c, 81000000001, "a@example.com")),
    ("registrant_id", lambda c: delete_meeting_registrant(c, 81000000001, "..")),
    (
        "questions.custom_questions.0",
        lambda c: update_meeting_registration_questions(
            c, 81000000001, {"custom_questions": [{"title": "Pick", "type": "single"}]}
        ),
    ),
    (
        "questions.questions.0.field_name",
        lambda c: update_meeting_registration_questions(
            c, 81000000001, {"questions": [{"field_name": "shoe_size"}]}
        ),
    ),
    ("questions", lambda c: update_meeting_registration_questions(c, 81000000001, {})),
]


@pytest.mark.parametrize(("field", "call"), BAD_INPUTS, ids=[f for f, _ in BAD_INPUTS])
def test_bad_input_is_refused_before_any_request(
    zoom_emulator: ZoomEmulator, block_name: str, field: str, call: Callable[[str], Any]
) -> None:
    @flow
    def refused(credentials: str) -> ZoomInputError:
        with pytest.raises(ZoomInputError) as caught:
            call(credentials)
        return caught.value

    error = refused(block_name)
    assert zoom_emulator.state.counters["requests"] == 0
    assert str(error).startswith(field) or f"{field}:" in str(error), str(error)
    assert error.fix
