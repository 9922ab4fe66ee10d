"""The ``sync_users`` flow against the emulator: dry run, apply, re-run, a failing row, CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from test_flows_basic import artifact_data

from prefect_zoom.capabilities import capabilities
from prefect_zoom.exceptions import AllRowsFailedError
from prefect_zoom.flows import SyncRow, sync_users
from zoom_emulator import EmulatorConfig, ZoomEmulator
from zoom_emulator.models.state import User

ARTIFACT = "zoom-users-sync"


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(seed_users=3)  # the owner, user1 and user2


def member(zoom: ZoomEmulator, number: int) -> User:
    return next(u for u in zoom.state.users.values() if u.email == f"user{number}@example.com")


def people(zoom: ZoomEmulator) -> list[dict[str, Any]]:
    """The owner as is, user1 in another department, a newcomer; user2 is not listed."""
    return [
        {"email": zoom.config.user_email},
        {"email": "user1@example.com", "dept": "Research", "type": "licensed"},
        {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "type": 1},
    ]


def actions(rows: list[SyncRow]) -> dict[str, tuple[str, str]]:
    return {row.email: (row.action, row.status) for row in rows}


def test_dry_run_apply_and_rerun(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    before = {u.id: (u.status, u.dept) for u in zoom_emulator.state.users.values()}
    state = sync_users(block_name, people(zoom_emulator), return_state=True)
    plan: list[SyncRow] = state.result()
    assert actions(plan) == {
        zoom_emulator.config.user_email: ("none", "unchanged"),
        "user1@example.com": ("update", "planned"),
        "ada@example.com": ("create", "planned"),
        "user2@example.com": ("deactivate", "planned"),
    }
    assert "dept=Research" in next(r.changes for r in plan if r.action == "update")
    assert {u.id: (u.status, u.dept) for u in zoom_emulator.state.users.values()} == before
    table = artifact_data(state, ARTIFACT)
    assert [row["action"] for row in table] == ["none", "update", "create", "deactivate"]
    assert "secret" not in json.dumps(table).lower()

    applied = sync_users(block_name, people(zoom_emulator), apply=True)
    assert {r.status for r in applied if r.action != "none"} == {"done"}
    assert (member(zoom_emulator, 1).dept, member(zoom_emulator, 1).type) == ("Research", 2)
    assert member(zoom_emulator, 2).status == "inactive"
    ada = next(u for u in zoom_emulator.state.users.values() if u.email == "ada@example.com")
    assert (ada.first_name, ada.status) == ("Ada", "pending")  # `create` awaits confirmation

    again = sync_users(block_name, people(zoom_emulator), apply=True)
    assert {r.action for r in again} == {"none"} and len(again) == 3
    assert sum(1 for u in zoom_emulator.state.users.values() if u.email == "ada@example.com") == 1


def test_a_failing_row_fails_alone(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    admin = member(zoom_emulator, 2)
    admin.role_name, admin.status = "Admin", "inactive"  # Zoom refuses to activate an admin
    rows = [
        {"email": "user1@example.com", "dept": "Ops"},
        {"email": "user2@example.com"},
        {"email": "not-an-email"},
        {"email": "user1@example.com", "dept": "Twice"},
    ]
    result = sync_users(block_name, rows, apply=True, deactivate_missing=False)
    by_row = {r.row: r for r in result}
    assert (by_row[1].action, by_row[1].status) == ("update", "done")
    assert (by_row[2].action, by_row[2].status) == ("activate", "failed")
    assert "code 200" in (by_row[2].error or "")
    assert by_row[3].status == "failed" and (by_row[3].error or "").startswith("email:")
    assert by_row[4].status == "failed" and "row 1" in (by_row[4].error or "")
    assert member(zoom_emulator, 1).dept == "Ops" and admin.status == "inactive"


def test_every_change_failing_fails_the_run(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    admin = member(zoom_emulator, 2)
    admin.role_name, admin.status = "Admin", "inactive"
    state = sync_users(
        block_name,
        [{"email": admin.email}],
        apply=True,
        deactivate_missing=False,
        return_state=True,
    )
    assert state.is_failed()
    with pytest.raises(AllRowsFailedError, match="every change failed"):
        state.result()


def test_csv_dry_run_cells_are_safe(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["email", "first_name", "last_name", "dept"])
        writer.writeheader()
        writer.writerow({"email": "=cmd@example.com", "first_name": "Eve"})
        writer.writerow({"email": "user1@example.com", "dept": ""})
    state = sync_users(block_name, csv_path=str(path), deactivate_missing=False, return_state=True)
    plan: list[SyncRow] = state.result()
    assert actions(plan) == {
        "=cmd@example.com": ("create", "planned"),
        "user1@example.com": ("none", "unchanged"),  # an empty cell leaves Zoom's value
    }
    table = artifact_data(state, ARTIFACT)
    assert table[0]["email"] == "'=cmd@example.com"
    assert all(u.email != "=cmd@example.com" for u in zoom_emulator.state.users.values())


def test_bad_input_is_refused_before_any_request(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    before = zoom_emulator.state.counters["requests"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "people"),
        ({"people": [{"email": "a@example.com", "title": "x"}]}, "title"),
        ({"people": [], "create_action": "invite"}, "create_action"),  # Prefect checks the Literal
        ({"csv_path": "/nonexistent/people.csv"}, "csv_path"),
    ]
    for kwargs, field in cases:
        state = sync_users(block_name, return_state=True, **kwargs)
        error = state.result(raise_on_failure=False)
        assert state.is_failed() and field in str(error), (kwargs, error)
    assert zoom_emulator.state.counters["requests"] == before


def test_check_lists_the_lifecycle_activities_and_sync_users() -> None:
    read_only = capabilities(["user:read:admin"])
    by_name = {c.name: c for c in read_only}
    assert by_name["create_user"].tasks == ("create_user",)
    assert by_name["update_user_status"].tasks == ("set_user_status",)
    assert by_name["delete_user"].tasks == ("delete_user",)
    assert not by_name["create_user"].can_run
    assert "user:write:user:admin" in by_name["create_user"].scopes_to_add
    sync = by_name["sync_users"]
    assert sync.can_run  # planning (the dry run) only lists users
    (apply,) = sync.unavailable_options
    assert apply.feature == "apply the plan"
    assert {gap.operation for gap in apply.gaps} == {
        "create_user",
        "update_user",
        "update_user_status",
    }
    granted = {c.name: c for c in capabilities(["user:read:admin", "user:write:admin"])}
    assert granted["sync_users"].can_run and not granted["sync_users"].unavailable_options
    assert all(granted[name].can_run for name in ("create_user", "update_user", "delete_user"))


def test_owner_and_admins_are_never_deactivated(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    member(zoom_emulator, 2).role_name = "Admin"
    plan = sync_users(block_name, [{"email": "ada@example.com"}])
    assert actions(plan) == {
        "ada@example.com": ("create", "planned"),
        "user1@example.com": ("deactivate", "planned"),
    }
