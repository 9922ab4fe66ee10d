"""The ``sync_users`` flow: make the account's users match a list of people (a list of dicts or
a CSV file with the columns ``email, first_name, last_name, type, dept``).

It plans who to create, update, activate and deactivate, and publishes the plan as the table
artifact ``zoom-users-sync``; it changes nothing unless ``apply=True``. Then each row is applied
on its own: a failed row fails alone, and the table says which and why. Safe to run again: the
plan is computed from the account as it is, so a second run plans nothing (a user created with
``create`` stays pending until they confirm, and is not created twice).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from prefect import flow
from prefect.futures import PrefectFuture
from pydantic import BaseModel, Field, field_validator

from prefect_zoom.exceptions import AllRowsFailedError, ZoomInputError
from prefect_zoom.flows._support import csv_cell, describe_error, publish_table, task_outcome
from prefect_zoom.models import User, parse_input
from prefect_zoom.models.users import EMAIL_PATTERN, CreateAction
from prefect_zoom.tasks._common import run_logger
from prefect_zoom.tasks.meetings import check_choice
from prefect_zoom.tasks.users import create_user, list_users, set_user_status, update_user

ARTIFACT_KEY = "zoom-users-sync"
COLUMNS = ("email", "first_name", "last_name", "type", "dept")
COMPARED = ("first_name", "last_name", "type", "dept")
RESULT_COLUMNS = ("row", "email", "action", "changes", "status", "error")
PROTECTED_ROLES = {"0", "1"}
"""Zoom's role ids of the account's owner and admins: never deactivated by a sync."""
TYPES = {"1": 1, "2": 2, "basic": 1, "licensed": 2}

Action = Literal["create", "update", "activate", "deactivate", "none"]
Status = Literal["planned", "done", "unchanged", "failed"]


class Person(BaseModel):
    """One row of the list: who should be on the account (empty cells leave Zoom's value)."""

    email: str = Field(max_length=128, pattern=EMAIL_PATTERN)
    first_name: str | None = Field(None, max_length=64)
    last_name: str | None = Field(None, max_length=64)
    type: Literal[1, 2] | None = None
    dept: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("type", mode="before")
    @classmethod
    def _type_name(cls, value: Any) -> Any:
        return TYPES.get(str(value).lower(), value) if value is not None else None


class SyncRow(BaseModel):
    """One planned change and what became of it (``row`` 0: a user missing from the list)."""

    row: int
    email: str
    action: Action
    changes: str = ""
    status: Status
    error: str | None = None


def read_people(people: list[dict[str, Any]] | None, csv_path: str | None) -> list[dict[str, Any]]:
    """The rows, from the list or the CSV file (exactly one of them)."""
    if (people is None) == (csv_path is None):
        raise ZoomInputError(
            "people", "give either people or csv_path", "Pass a list of dicts, or a CSV path."
        )
    if csv_path is None:
        rows = list(people or [])
    else:
        path = Path(csv_path).expanduser()
        if not path.is_file():
            raise ZoomInputError("csv_path", f"no file at {str(path)!r}", "Give a CSV file.")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [dict(row) for row in csv.DictReader(handle)]
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise ZoomInputError(f"people[{number}]", "is not a mapping", "Give column: value.")
        unknown = sorted(str(key) for key in row if key not in COLUMNS)
        if unknown:
            raise ZoomInputError(
                unknown[0], "is not a known column", f"Use only: {', '.join(COLUMNS)}."
            )
    return rows


def _changes(person: Person, user: User) -> dict[str, Any]:
    """The fields the row sets to another value than Zoom has."""
    wanted = person.model_dump(include=set(COMPARED), exclude_none=True)
    return {key: value for key, value in wanted.items() if getattr(user, key, None) != value}


def plan(
    rows: list[dict[str, Any]], users: list[User], deactivate_missing: bool
) -> tuple[list[SyncRow], dict[int, Person]]:
    """What to do for each row, and for each active user the list lacks."""
    by_email = {user.email.lower(): user for user in users}
    planned: list[SyncRow] = []
    people: dict[int, Person] = {}
    first_row: dict[str, int] = {}
    for number, raw in enumerate(rows, start=1):
        email = str(raw.get("email") or "").strip()
        try:
            person = parse_input(Person, raw)
        except ZoomInputError as error:
            planned.append(
                SyncRow(
                    row=number,
                    email=email,
                    action="none",
                    status="failed",
                    error=describe_error(error),
                )
            )
            continue
        key = person.email.lower()
        if key in first_row:
            planned.append(
                SyncRow(
                    row=number,
                    email=person.email,
                    action="none",
                    status="failed",
                    error=f"the same email as row {first_row[key]}",
                )
            )
            continue
        first_row[key] = number
        people[number] = person
        user = by_email.get(key)
        changes = _changes(person, user) if user else {}
        action: Action = "create" if user is None else "update" if changes else "none"
        if user is not None and user.status == "inactive":
            action = "activate"
        shown = ", ".join(f"{k}={v}" for k, v in sorted(changes.items()))
        status: Status = "unchanged" if action == "none" else "planned"
        planned.append(
            SyncRow(row=number, email=person.email, action=action, changes=shown, status=status)
        )
    if deactivate_missing:
        for user in users:
            if user.email.lower() in first_row or user.status != "active":
                continue
            if (user.role_id or "") in PROTECTED_ROLES:
                continue
            planned.append(SyncRow(row=0, email=user.email, action="deactivate", status="planned"))
    return planned, people


def _submit(
    credentials_block: str, item: SyncRow, person: Person | None, create_action: CreateAction
) -> PrefectFuture[Any]:
    if item.action == "create" and person is not None:
        info = person.model_dump(exclude_none=True)
        return create_user.submit(credentials_block, info, create_action)
    if item.action in ("activate", "deactivate"):
        return set_user_status.submit(credentials_block, item.email, item.action)
    changes = person.model_dump(include=set(COMPARED), exclude_none=True) if person else {}
    return update_user.submit(credentials_block, item.email, changes)


@flow(name="Zoom: sync users")
def sync_users(
    credentials_block: str,
    people: list[dict[str, Any]] | None = None,
    csv_path: str | None = None,
    *,
    apply: bool = False,
    deactivate_missing: bool = True,
    create_action: CreateAction = "create",
) -> list[SyncRow]:
    """Make the account's users match ``people`` (or the CSV file at ``csv_path``): create who
    is missing (with ``create_action``), update names/type/dept that differ, activate listed
    users who are inactive and, with ``deactivate_missing``, deactivate active users not listed
    (never the owner or admins).

    A dry run unless ``apply=True``: the plan is published as the table artifact
    ``zoom-users-sync`` either way. Each change is a task of its own; a failed one fails alone
    (its row says why), and the run fails only when every change failed. Safe to run again:
    a second run plans nothing. Needs `user:read:admin`, `user:write:admin` (or the granular
    `user:read:list_users:admin`, `user:write:user:admin`, `user:update:user:admin`,
    `user:update:status:admin`).
    """
    check_choice(create_action, get_args(CreateAction), "create_action")
    rows = read_people(people, csv_path)
    users = [
        u
        for status in ("active", "inactive", "pending")
        for u in list_users(credentials_block, status)
    ]
    planned, persons = plan(rows, users, deactivate_missing)
    if apply:
        futures = [
            (item, _submit(credentials_block, item, persons.get(item.row), create_action))
            for item in planned
            if item.status == "planned"
        ]
        for item, future in futures:
            _, error = task_outcome(future)
            if error is None and item.action == "activate" and item.changes:
                _, error = task_outcome(
                    _submit(
                        credentials_block,
                        item.model_copy(update={"action": "update"}),
                        persons.get(item.row),
                        create_action,
                    )
                )
            item.status = "done" if error is None else "failed"
            item.error = None if error is None else describe_error(error)
    counts = {s: sum(1 for r in planned if r.status == s) for s in get_args(Status)}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to do"
    title = "Zoom users sync" if apply else "Zoom users sync (dry run: nothing changed)"
    publish_table(
        ARTIFACT_KEY,
        [{c: csv_cell(r.model_dump().get(c)) for c in RESULT_COLUMNS} for r in planned],
        RESULT_COLUMNS,
        f"# {title}\n\n{summary}.",
    )
    run_logger().info("%s: %s", title, summary)
    tried = [r for r in planned if r.status in ("done", "failed")]
    if apply and tried and all(r.status == "failed" for r in tried):
        raise AllRowsFailedError(f"every change failed ({summary}); first: {tried[0].error}")
    return planned
