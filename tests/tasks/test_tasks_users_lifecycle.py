"""Users' lifecycle tasks against the emulator over HTTP, in real Prefect flows: create (each
action), update, deactivate/activate, delete or disassociate, and their failure modes."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any, get_args

import pytest
from helpers.connections import s2s_block_without
from prefect import flow

from prefect_zoom.exceptions import (
    ZoomAPIError,
    ZoomInputError,
    ZoomMissingScopesError,
    ZoomNotFoundError,
)
from prefect_zoom.models import User
from prefect_zoom.models.users import CreateAction
from prefect_zoom.tasks import (
    create_user,
    delete_user,
    get_user,
    list_meetings,
    list_users,
    schedule_one_time_meeting,
    set_user_status,
    update_user,
)
from tasks.test_tasks_meetings_users import (
    TOMORROW,
    configured,
    failure_and_runs,
    input_error,
    requests_made,
)
from zoom_emulator import EmulatorConfig, ZoomEmulator

CREATE_ROUTE = "POST /v2/users"


@pytest.mark.parametrize("action", get_args(CreateAction))
def test_create_user_with_each_action(block_name: str, action: CreateAction) -> None:
    status = "pending" if action == "create" else "active"  # `create` awaits confirmation
    email = f"{action.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    info: dict[str, Any] = {"email": email, "first_name": "Ada", "last_name": "Lovelace"}
    if action == "autoCreate":
        info["password"] = "Pa55word!x"

    @flow
    def onboard(credentials: str) -> tuple[User, User]:
        created = create_user(credentials, info, action)
        return created, get_user(credentials, created.id)

    created, read = onboard(block_name)
    assert created.email == email and created.type == 1
    assert read.status == status and read.first_name == "Ada"


def test_update_deactivate_activate_delete(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    @flow
    def lifecycle(credentials: str) -> list[str | None]:
        created = create_user(credentials, {"email": "grace@example.com", "type": 2}, "autoCreate")
        update_user(credentials, created.id, {"dept": "Navy", "first_name": "Grace"})
        seen = [get_user(credentials, created.id).first_name]
        set_user_status(credentials, "grace@example.com", "deactivate")
        seen.append(next(u.status for u in list_users(credentials, "inactive")))
        set_user_status(credentials, created.id, "activate")
        seen.append(get_user(credentials, created.id).status)
        delete_user(credentials, created.id, "delete")
        return seen

    assert lifecycle(block_name) == ["Grace", "inactive", "active"]
    assert all(u.email != "grace@example.com" for u in zoom_emulator.state.users.values())


@configured(seed_users=3)
def test_delete_transfers_meetings(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    leaving, staying = (
        next(u for u in zoom_emulator.state.users.values() if u.email == f"user{n}@example.com")
        for n in (1, 2)
    )

    @flow
    def offboard(credentials: str) -> list[int]:
        meeting = schedule_one_time_meeting(
            credentials, "Handover", TOMORROW, 30, user_id=leaving.id
        )
        delete_user(credentials, leaving.email, transfer_email=staying.email, transfer_meeting=True)
        return [m.id for m in list_meetings(credentials, staying.id) if m.id == meeting.id]

    assert len(offboard(block_name)) == 1


def test_bad_input_fails_before_any_request(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    before = requests_made(zoom_emulator)
    ok = {"email": "a@example.com"}
    cases = [
        ("action", lambda: create_user.fn(block_name, ok, "invite")),  # type: ignore[arg-type]
        ("user.email", lambda: create_user.fn(block_name, {"email": "not-an-email"})),
        ("user.type", lambda: create_user.fn(block_name, {"email": "a@example.com", "type": 3})),
        ("user.type", lambda: create_user.fn(block_name, {**ok, "type": 99}, "create")),
        ("user.password", lambda: create_user.fn(block_name, {**ok, "password": "Secret123x"})),
        ("changes", lambda: update_user.fn(block_name, "me", {})),
        ("changes.type", lambda: update_user.fn(block_name, "me", {"type": 7})),
        ("action", lambda: set_user_status.fn(block_name, "me", "suspend")),  # type: ignore[arg-type]
        ("action", lambda: delete_user.fn(block_name, "x@example.com", "erase")),  # type: ignore[arg-type]
        (
            "transfer_email",
            lambda: delete_user.fn(block_name, "x@example.com", transfer_meeting=True),
        ),
        (
            "transfer_email",
            lambda: delete_user.fn(block_name, "x@example.com", transfer_email="X@example.com"),
        ),
        ("user_id", lambda: delete_user.fn(block_name, "../users")),
    ]
    for field, call in cases:
        error = input_error(call)
        assert error.field == field, (field, str(error))
        assert field in str(error) and error.fix
    assert requests_made(zoom_emulator) == before
    # a password never shows in reprs or errors
    with pytest.raises(ZoomInputError) as caught:
        create_user.fn(block_name, {**ok, "password": "Secret123x"})
    assert "Secret123x" not in str(caught.value) and "Secret123x" not in repr(caught.value)


def test_existing_user_and_unknown_user(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    taken = zoom_emulator.config.user_email

    @flow
    def twice(credentials: str) -> tuple[tuple[BaseException, int], tuple[BaseException, int]]:
        exists = create_user(credentials, {"email": taken}, return_state=True)
        missing = set_user_status(
            credentials, "nobody@example.com", "deactivate", return_state=True
        )
        return failure_and_runs(exists), failure_and_runs(missing)

    (exists, runs_1), (missing, runs_2) = twice(block_name)
    assert isinstance(exists, ZoomAPIError) and (exists.status, exists.code) == (409, 1005)
    assert isinstance(missing, ZoomNotFoundError) and missing.code == 1001
    assert runs_1 == runs_2 == 1  # neither retried
    assert zoom_emulator.state.counters[f"{CREATE_ROUTE} 409"] == 1


def test_missing_scope_is_raised_at_once(zoom_emulator: ZoomEmulator) -> None:
    name = s2s_block_without(zoom_emulator, "user:write")

    @flow
    def create(credentials: str) -> tuple[BaseException, int]:
        state = create_user(credentials, {"email": "new@example.com"}, return_state=True)
        return failure_and_runs(state)

    error, runs = create(name)
    assert isinstance(error, ZoomMissingScopesError) and runs == 1
    assert (error.status, error.code) == (400, 4711)
    assert (
        "user:write:user:admin" in error.scopes_to_add or "user:write:admin" in error.scopes_to_add
    )
    assert zoom_emulator.state.counters[f"{CREATE_ROUTE} 400"] == 1
    assert all(u.email != "new@example.com" for u in zoom_emulator.state.users.values())


@configured(rate_limits="pro")
def test_per_second_429_is_waited_out_and_creates_once(
    emulator_config: EmulatorConfig,
    zoom_emulator: ZoomEmulator,
    block_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limiter = zoom_emulator.app.state.rate_limiter
    counters = zoom_emulator.state.counters
    check = limiter.check

    def busy_second(account_id: str, operation: Any) -> None:
        """The first create arrives when this second's 30 Light calls are all spent."""
        if operation.name == "create_user" and not counters["rate_limited QPS"]:
            limiter._windows[(account_id, operation.label, math.floor(time.time()))] = 30
        check(account_id, operation)

    monkeypatch.setattr(limiter, "check", busy_second)

    @flow
    def busy(credentials: str) -> User:
        return create_user(credentials, {"email": "busy@example.com"})

    created = busy(block_name)
    assert counters[f"{CREATE_ROUTE} 429"] == 1 and counters["rate_limited QPS"] == 1
    assert counters[f"{CREATE_ROUTE} 201"] == 1
    assert [u.id for u in zoom_emulator.state.users.values() if u.email == created.email] == [
        created.id
    ]
