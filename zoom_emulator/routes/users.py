"""Emulator routes: users (``GET /users/{userId}``, ``GET /users``) and their lifecycle
(``POST /users``, ``PATCH``/``DELETE /users/{userId}``, ``PUT /users/{userId}/status``, logic in
:mod:`zoom_emulator.models.users`); who may address whom is decided in
:mod:`zoom_emulator.models.access`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from zoom_emulator.models import users
from zoom_emulator.models.access import Caller, resolve_user
from zoom_emulator.models.inputs import UserCreateIn, UserStatusIn, UserUpdateIn
from zoom_emulator.models.operations import operations
from zoom_emulator.models.paging import paginate
from zoom_emulator.routes.auth import caller_for, state_of
from zoom_emulator.routes.meetings import read_body

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


@router.post("/users", status_code=201)
async def create_user(
    request: Request, caller: Caller = Depends(caller_for("create_user"))
) -> dict[str, Any]:
    """``POST /users``: add a user to the caller's account (admin scopes only)."""
    body = await read_body(request, UserCreateIn)
    return users.created_answer(users.create(state_of(request), caller.account_id, body))


@router.patch("/users/{userId}", status_code=204)
async def update_user(
    userId: str, request: Request, caller: Caller = Depends(caller_for("update_user"))
) -> Response:
    """``PATCH /users/{userId}``: change a user's profile; 204 without a body."""
    user = resolve_user(state_of(request), caller, userId, operations()["update_user"])
    users.update(user, await read_body(request, UserUpdateIn))
    return Response(status_code=204)


@router.put("/users/{userId}/status")
async def update_user_status(
    userId: str, request: Request, caller: Caller = Depends(caller_for("update_user_status"))
) -> dict[str, Any]:
    """``PUT /users/{userId}/status``: activate or deactivate (the spec's answer: 200, ``{}``)."""
    user = resolve_user(state_of(request), caller, userId, operations()["update_user_status"])
    users.set_status(user, await read_body(request, UserStatusIn))
    return {}


@router.delete("/users/{userId}", status_code=204)
async def delete_user(
    userId: str,
    request: Request,
    action: Literal["disassociate", "delete"] = Query("disassociate"),
    transfer_email: str | None = Query(None),
    transfer_meeting: bool = Query(False),
    transfer_webinar: bool = Query(False),
    transfer_recording: bool = Query(False),
    transfer_whiteboard: bool = Query(False),
    caller: Caller = Depends(caller_for("delete_user")),
) -> Response:
    """``DELETE /users/{userId}``: delete or disassociate (the default) a user of the account."""
    state = state_of(request)
    user = resolve_user(state, caller, userId, operations()["delete_user"])
    users.remove(
        state,
        user,
        transfer_email=transfer_email,
        transfer_meeting=transfer_meeting,
        transfer_recording=transfer_recording,
    )
    return Response(status_code=204)
