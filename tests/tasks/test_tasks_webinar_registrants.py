"""Webinar registrant tasks, and a held webinar's participants and absentees, in Prefect flows
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

from prefect_zoom.capabilities import activity_capabilities
from prefect_zoom.exceptions import (
    ZoomAPIError,
    ZoomMissingScopesError,
    ZoomNotFoundError,
    ZoomValidationError,
)
from prefect_zoom.models import Registrant, WebinarParticipant, WebinarRegistrant
from prefect_zoom.tasks import (
    add_webinar_registrant,
    delete_webinar_registrant,
    list_past_webinar_participants,
    list_webinar_absentees,
    list_webinar_registrants,
    schedule_one_time_webinar,
    update_webinar_registrant_status,
)
from zoom_emulator import EmulatorConfig, ZoomEmulator

LIST_ROUTE = "GET /v2/webinars/{webinarId}/registrants"
ADD_ROUTE = "POST /v2/webinars/{webinarId}/registrants"
ABSENTEES_ROUTE = "GET /v2/past_webinars/{webinarId}/absentees"
HELD_START = datetime(2024, 5, 1, 15, tzinfo=UTC)


@flow
def new_webinar(credentials: str, approval_type: int = 1) -> int:
    """A webinar's id; registration on (manual approval) unless ``approval_type`` is 2."""
    webinar = schedule_one_time_webinar(
        credentials, "Registration", HELD_START, 60, settings={"approval_type": approval_type}
    )
    return webinar.id


def people(count: int) -> list[dict[str, str]]:
    return [{"email": f"person{n}@example.com", "first_name": f"Person{n}"} for n in range(count)]


def test_registrants_from_added_to_deleted(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    webinar_id = new_webinar(block_name)

    @flow
    def registration(credentials: str) -> dict[str, Any]:
        added = [add_webinar_registrant(credentials, webinar_id, p) for p in people(4)]
        again = add_webinar_registrant(credentials, webinar_id, people(1)[0])
        pending = list_webinar_registrants(credentials, webinar_id, "pending", page_size=3)
        approved = update_webinar_registrant_status(
            credentials,
            webinar_id,
            "approve",
            [added[0].registrant_id or "", "PERSON1@example.com"],
        )
        update_webinar_registrant_status(credentials, webinar_id, "deny", ["person2@example.com"])
        deleted = delete_webinar_registrant(credentials, webinar_id, added[3].registrant_id or "")
        gone = delete_webinar_registrant(
            credentials, webinar_id, added[3].registrant_id or "", missing_ok=True
        )
        return {
            "added": added,
            "again": again,
            "pending": pending,
            "approved": approved,
            "deleted": (deleted, gone),
            "by_status": {
                status: list_webinar_registrants(credentials, webinar_id, status)
                for status in ("approved", "pending", "denied")
            },
        }

    out = registration(block_name)
    added: list[Registrant] = out["added"]
    assert all(a.join_url and a.id == webinar_id for a in added)
    assert out["again"].registrant_id == added[0].registrant_id  # run again: one registration
    pending: list[WebinarRegistrant] = out["pending"]
    assert [r.id for r in pending] == [a.registrant_id for a in added]
    assert all(isinstance(r, WebinarRegistrant) and r.status == "pending" for r in pending)
    assert out["approved"] == 2 and out["deleted"] == (True, False)
    emails = {s: [r.email for r in found] for s, found in out["by_status"].items()}
    assert emails == {
        "approved": ["person0@example.com", "person1@example.com"],
        "pending": [],
        "denied": ["person2@example.com"],
    }
    counters = zoom_emulator.state.counters
    assert counters[f"{LIST_ROUTE} 200"] == 2 + 3  # two pages of three, then one per status
    assert len(zoom_emulator.state.webinars[webinar_id].registrants) == 3


def test_failures_are_raised_at_once(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    closed_id = new_webinar(block_name, approval_type=2)
    open_id = new_webinar(block_name)

    @flow
    def failing(credentials: str) -> list[tuple[BaseException, int]]:
        states: list[State[Any]] = [
            list_webinar_registrants(credentials, 81_000_000_999, return_state=True),
            add_webinar_registrant(credentials, closed_id, people(1)[0], return_state=True),
            delete_webinar_registrant(credentials, open_id, "nobody", return_state=True),
            list_past_webinar_participants(credentials, open_id, return_state=True),
        ]
        return [failure_and_runs(state) for state in states]

    (unknown, r1), (closed, r2), (nobody, r3), (never_held, r4) = failing(block_name)
    assert r1 == r2 == r3 == r4 == 1
    assert isinstance(unknown, ZoomNotFoundError) and unknown.code == 3001
    assert isinstance(closed, ZoomAPIError) and (closed.status, closed.code) == (400, 3000)
    assert "does not have registration" in closed.message and "approval_type" in closed.hint
    assert isinstance(nobody, ZoomValidationError) and nobody.code == 300
    assert isinstance(never_held, ZoomNotFoundError) and never_held.code == 3001
    assert zoom_emulator.state.counters[f"{ADD_ROUTE} 400"] == 1


def hold(zoom_emulator: ZoomEmulator, webinar_id: int, attendees: list[dict[str, Any]]) -> str:
    """Hold the webinar with ``attendees``: the held instance's UUID."""
    held = zoom_emulator.control(
        "POST", f"webinars/{webinar_id}/held", json={"attendees": attendees}
    )
    return str(held["uuid"])


def test_participants_and_absentees(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    webinar_id = new_webinar(block_name, approval_type=0)  # registrants approved at once

    @flow
    def register(credentials: str) -> None:
        for person in people(3):
            add_webinar_registrant(credentials, webinar_id, person)

    register(block_name)
    crowd = [
        {"name": f"Person{n}", "email": f"person{n}@example.com", "minutes": 30} for n in (0, 1)
    ] + [{"name": f"Guest{n}", "email": f"guest{n}@example.net"} for n in range(4)]
    held_uuid = hold(zoom_emulator, webinar_id, crowd)

    @flow
    def attendance(credentials: str) -> dict[str, Any]:
        return {
            "participants": list_past_webinar_participants(credentials, webinar_id, page_size=4),
            "by_uuid": list_past_webinar_participants(credentials, held_uuid),
            "absentees": list_webinar_absentees(credentials, held_uuid),
        }

    out = attendance(block_name)
    participants: list[WebinarParticipant] = out["participants"]
    assert [p.user_email for p in participants] == [c["email"] for c in crowd]  # both pages
    first = participants[0]
    assert first.join_time == HELD_START and first.duration == 30 * 60 and first.registrant_id
    assert [p.id for p in out["by_uuid"]] == [p.id for p in participants]
    absentees: list[WebinarRegistrant] = out["absentees"]
    assert [a.email for a in absentees] == ["person2@example.com"]
    served = [  # a UUID holding one "/" is encoded once, so it reaches the {webinarId:path} route
        count
        for key, count in zoom_emulator.state.counters.items()
        if key.startswith("GET /v2/past_webinars/{webinarId") and key.endswith("participants 200")
    ]
    assert sum(served) == 2 + 1  # two pages by id, one by UUID


def test_missing_scope_is_not_retried(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    webinar_id = new_webinar(block_name, approval_type=0)
    hold(zoom_emulator, webinar_id, [])
    app = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
    app.scopes = [s for s in app.scopes if not s.startswith("webinar:read")]
    name = f"zoom-s2s-{uuid.uuid4().hex[:10]}"  # a new block: a token with fewer scopes
    s2s_credentials(zoom_emulator).save(name, overwrite=True)

    @flow
    def absent(credentials: str) -> tuple[BaseException, int]:
        return failure_and_runs(list_webinar_absentees(credentials, webinar_id, return_state=True))

    error, runs = absent(name)
    assert isinstance(error, ZoomMissingScopesError) and runs == 1
    assert error.scopes_to_add == ["webinar:read", "webinar:read:list_absentees"]
    assert zoom_emulator.state.counters[f"{ABSENTEES_ROUTE} 400"] == 1


@configured(rate_limits="pro")
def test_a_per_second_429_is_waited_out(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    webinar_id = new_webinar(block_name, approval_type=0)
    hold(zoom_emulator, webinar_id, [])

    @flow
    def absent(credentials: str) -> list[WebinarRegistrant]:
        use_up_per_second_limit(zoom_emulator, "Heavy", seconds=3)  # absentees: a Heavy call
        return list_webinar_absentees(credentials, webinar_id)

    assert absent(block_name) == []
    answers = {
        code: zoom_emulator.state.counters[f"{ABSENTEES_ROUTE} {code}"] for code in (200, 429)
    }
    assert answers[200] == 1 and answers[429] >= 1
    assert zoom_emulator.state.counters["rate_limited QPS"] >= 1


BAD_INPUTS: list[tuple[str, Callable[[str], Any]]] = [
    ("webinar_id", lambda c: list_webinar_registrants(c, 0)),
    ("status", lambda c: list_webinar_registrants(c, 81000000001, "waiting")),  # type: ignore[call-overload]
    ("page_size", lambda c: list_webinar_registrants(c, 81000000001, page_size=0)),
    ("registrant.email", lambda c: add_webinar_registrant(c, 81000000001, {"email": "x"})),
    (
        "action",
        lambda c: update_webinar_registrant_status(c, 81000000001, "accept", ["a@b.io"]),  # type: ignore[call-overload]
    ),
    ("registrants", lambda c: update_webinar_registrant_status(c, 81000000001, "approve", [])),
    ("registrant_id", lambda c: delete_webinar_registrant(c, 81000000001, "a@example.com")),
    ("webinar_id", lambda c: list_past_webinar_participants(c, "  ")),
    ("webinar_id", lambda c: list_webinar_absentees(c, "..")),
    ("page_size", lambda c: list_past_webinar_participants(c, 81000000001, page_size=301)),
    ("occurrence_id", lambda c: list_webinar_absentees(c, 81000000001, occurrence_id="")),
]


@pytest.mark.parametrize(("field", "make"), BAD_INPUTS)
def test_bad_input_is_refused_before_any_request(
    zoom_emulator: ZoomEmulator, block_name: str, field: str, make: Callable[[str], Any]
) -> None:
    error = refused_in_a_flow(block_name, make)
    assert zoom_emulator.state.counters["requests"] == 0
    assert field in str(error) and error.fix


def test_check_lists_each_new_activity_with_its_scopes() -> None:
    """``prefect-zoom check`` and ``check_connection`` show what a read-only connection lacks."""
    found = {c.name: c for c in activity_capabilities(["webinar:read"])}
    expected = {
        "add_webinar_registrant": ("webinar:write", "webinar:write:registrant"),
        "update_webinar_registrant_status": ("webinar:write", "webinar:update:registrant_status"),
        "delete_webinar_registrant": ("webinar:write", "webinar:delete:registrant"),
        "update_webinar": ("webinar:write", "webinar:update:webinar"),
    }
    for name, scopes in expected.items():
        assert found[name].tasks == (name,) and found[name].scopes_to_add == scopes
    readable = ("list_webinar_registrants", "list_past_webinar_participants")
    assert all(found[name].can_run for name in (*readable, "list_webinar_absentees"))
    assert "schedule_recurring_webinar" in found["create_webinar"].tasks
