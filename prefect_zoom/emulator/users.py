"""Emulator routes: users (``GET /users/{userId}``, ``GET /users``).

Who may address whom, as Zoom decides it:

* an account-level token (Server-to-Server OAuth) acts for the account: ``me`` is the account's
  owner and any user of the account may be named by id or email;
* a user-level OAuth token may always address itself (``me``, its id or its email); another user
  of the account only with an ``:admin`` scope of the operation, else HTTP 400 code 200
  "No permission.";
* an id or email that exists on another account: HTTP 400 code 1010; unknown: 404 code 1001.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from prefect_zoom.catalog import OPERATIONS, Operation
from prefect_zoom.emulator.auth import Caller, caller_for, state_of
from prefect_zoom.emulator.errors import ZoomError, user_not_found
from prefect_zoom.emulator.paging import paginate
from prefect_zoom.emulator.state import EmulatorState, User

router = APIRouter()

NO_PERMISSION = "No permission."
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


def has_admin_scope(caller: Caller, operation: Operation) -> bool:
    """True when the token holds one of the operation's account-wide (``:admin``) scopes."""
    admin = {scope for scope in operation.all_scopes if scope.endswith(":admin")}
    return bool(admin & set(caller.token.scopes))


def may_act_for(caller: Caller, operation: Operation, user: User) -> bool:
    """Whether the caller may act on ``user``'s behalf (same account is checked elsewhere)."""
    if caller.is_account_level or (caller.user is not None and caller.user.id == user.id):
        return True
    return has_admin_scope(caller, operation)


def resolve_user(
    state: EmulatorState,
    caller: Caller,
    user_id: str,
    operation: Operation,
    *,
    foreign_as_not_found: bool = False,
) -> User:
    """The user a ``{userId}`` path names (``me``, an id or an email), or Zoom's error.

    ``foreign_as_not_found`` answers a user of another account with 404 code 1001 "User {id} not
    exist or not belong to this account." as the meeting endpoints do, instead of 400 code 1010.
    """
    if user_id == "me":
        if caller.user is None:
            raise user_not_found(user_id)
        return caller.user
    wanted = user_id.lower()
    matches = [u for u in state.users.values() if u.id == user_id or u.email.lower() == wanted]
    user = next((u for u in matches if u.account_id == caller.account_id), None)
    if user is None:
        if foreign_as_not_found:
            raise ZoomError(404, 1001, f"User {user_id} not exist or not belong to this account.")
        if matches:
            raise ZoomError(
                400, 1010, f"User does not belong to this account: {caller.account_id}."
            )
        raise user_not_found(user_id)
    if not may_act_for(caller, operation, user):
        raise ZoomError(400, 200, NO_PERMISSION)
    return user


@router.get("/users/{userId}")
async def get_user(
    userId: str,
    request: Request,
    caller: Caller = Depends(caller_for("get_user")),
) -> dict[str, Any]:
    """``GET /users/{userId}``: one user of the caller's account."""
    user = resolve_user(state_of(request), caller, userId, OPERATIONS["get_user"])
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
