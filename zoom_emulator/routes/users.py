"""Emulator routes: users (``GET /users/{userId}``, ``GET /users``); who may address whom is
decided in :mod:`zoom_emulator.models.access`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from zoom_emulator.models.access import Caller, resolve_user
from zoom_emulator.models.operations import operations
from zoom_emulator.models.paging import paginate
from zoom_emulator.routes.auth import caller_for, state_of

router = APIRouter()

LIST_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "display_name",
    "email",
    "type",
    "pmi",
    "timezone",
    "verified",
    "dept",
    "created_at",
    "user_created_at",
    "last_login_time",
    "language",
    "phone_number",
    "status",
    "role_id",
)


@router.get("/users/{userId}")
async def get_user(
    userId: str,
    request: Request,
    caller: Caller = Depends(caller_for("get_user")),
) -> dict[str, Any]:
    """``GET /users/{userId}``: one user of the caller's account."""
    user = resolve_user(state_of(request), caller, userId, operations()["get_user"])
    return user.as_zoom()


@router.get("/users")
async def list_users(
    request: Request,
    status: Literal["active", "inactive", "pending"] = Query("active"),
    page_size: int | None = Query(None),
    next_page_token: str | None = Query(None),
    role_id: str | None = Query(None),
    caller: Caller = Depends(caller_for("list_users")),
) -> dict[str, Any]:
    """``GET /users``: the account's users with one status, paginated (admin scopes only)."""
    state = state_of(request)
    listed = []
    for user in state.users.values():
        if user.account_id != caller.account_id or user.status != status:
            continue
        answer = user.as_zoom()
        if role_id is not None and answer["role_id"] != role_id:
            continue
        listed.append({field: answer[field] for field in LIST_FIELDS})
    key = f"users:{caller.account_id}:{status}:{role_id or ''}"
    page, fields = paginate(state, key, listed, page_size, next_page_token, with_page_number=True)
    return {**fields, "users": page}
