"""Prefect tasks for Zoom users: the connection's own user, the account's users, and their
lifecycle (create, update, activate/deactivate, delete or disassociate)."""

from __future__ import annotations

from typing import Any, Literal, get_args

from prefect_zoom.catalog import OPERATIONS, BoundOperation
from prefect_zoom.client.calls import call, call_json, call_pages
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.models import NewUser, User, UserChanges, parse_input
from prefect_zoom.models.users import CreateAction
from prefect_zoom.tasks._common import CredentialsLike, client_for, run_logger, zoom_task
from prefect_zoom.tasks.meetings import check_choice, check_user_id, retry_if_not_created

UserStatus = Literal["active", "inactive", "pending"]
StatusAction = Literal["activate", "deactivate"]
DeleteAction = Literal["disassociate", "delete"]


@zoom_task("get_user", name="Zoom: get user", tags=("users",))
def get_user(credentials: CredentialsLike, user_id: str = "me") -> User:
    """Get a Zoom user: ``me`` (the connection's user) by default, or a user id or email.

    Needs `user:read` (classic) or `user:read:user` (granular); for ``me``, `user_info:read` is
    enough. Another user of the account needs an `:admin` scope on a user-level connection.
    """
    user_id = check_user_id(user_id)
    with client_for(credentials) as zoom:
        data = call_json(zoom, OPERATIONS["get_user"].bind(user_id=user_id))
    user = User.model_validate(data)
    run_logger().info("Got Zoom user %s", user.id)
    return user


@zoom_task("list_users", name="Zoom: list users", tags=("users",))
def list_users(credentials: CredentialsLike, status: UserStatus = "active") -> list[User]:
    """List the account's users with one ``status`` (active, inactive or pending), every page.

    An admin operation: needs `user:read:admin` (classic) or `user:read:list_users:admin`
    (granular).
    """
    kind = check_choice(status, get_args(UserStatus), "status")
    with client_for(credentials) as zoom:
        users = [
            User.model_validate(item)
            for item in call_pages(zoom, OPERATIONS["list_users"].bind(), "users", {"status": kind})
        ]
    run_logger().info("Listed %d %s Zoom user(s)", len(users), kind)
    return users


def _send(credentials: CredentialsLike, bound: BoundOperation, **request: Any) -> None:
    """Send a change Zoom answers without a body we need (204, or 200 with ``{}``)."""
    with client_for(credentials) as zoom:
        call(zoom, bound, expected=(204, 200), **request)


def check_new_user(action: Any, user: NewUser | dict[str, Any]) -> tuple[str, NewUser]:
    """The create action and the user's fields as Zoom accepts them together."""
    kind = check_choice(action, get_args(CreateAction), "action")
    info = parse_input(NewUser, user, prefix="user")
    if info.type == 99 and kind != "ssoCreate":
        raise ZoomInputError(
            "user.type", "99 (None) is only allowed with ssoCreate", "Use type 1 or 2."
        )
    if info.password is not None and kind != "autoCreate":
        raise ZoomInputError(
            "user.password", f"Zoom takes a password only with autoCreate, not {kind}", "Drop it."
        )
    return kind, info


@zoom_task(
    "create_user",
    name="Zoom: create user",
    tags=("users",),
    retry_condition=retry_if_not_created,
)
def create_user(
    credentials: CredentialsLike, user: NewUser | dict[str, Any], action: CreateAction = "create"
) -> User:
    """Add a user to the account (``POST /users``) with one of Zoom's create ``action``s.

    ``create`` e-mails the person a confirmation link (they stay pending until they confirm);
    ``autoCreate`` (managed domains; takes ``password``), ``custCreate`` and ``ssoCreate``
    (the only one allowing type 99) make an active user. The action, type and fields are checked
    before any request. Safe to run again: retried only when Zoom surely did not act; an email
    already on the account fails with Zoom's 409 code 1005. Needs `user:write:admin` (classic)
    or `user:write:user:admin` (granular).
    """
    kind, info = check_new_user(action, user)
    with client_for(credentials) as zoom:
        response = call(
            zoom,
            OPERATIONS["create_user"].bind(),
            json={"action": kind, "user_info": info.to_zoom()},
            expected=(201, 200),
        )
    created = User.model_validate(response.json())
    run_logger().info("Created Zoom user %s (%s)", created.id, kind)
    return created


@zoom_task("update_user", name="Zoom: update user", tags=("users",))
def update_user(
    credentials: CredentialsLike, user_id: str, changes: UserChanges | dict[str, Any]
) -> None:
    """Change a user's profile fields (only those given); Zoom answers 204.

    Safe to run again: setting the same values twice changes nothing. Needs `user:write`
    or `user:update:user` (granular); another user of the account needs their `:admin` form.
    """
    user_id = check_user_id(user_id)
    body = parse_input(UserChanges, changes, prefix="changes").to_zoom()
    if not body:
        raise ZoomInputError(
            "changes", "nothing to change", "Give at least one field, e.g. {'dept': 'Sales'}."
        )
    _send(credentials, OPERATIONS["update_user"].bind(user_id=user_id), json=body)
    run_logger().info("Updated Zoom user %s (%s)", user_id, ", ".join(sorted(body)))


@zoom_task("update_user_status", name="Zoom: set user status", tags=("users",))
def set_user_status(credentials: CredentialsLike, user_id: str, action: StatusAction) -> None:
    """Activate or deactivate a user (``PUT /users/{userId}/status``).

    Safe to run again: the same action twice leaves the same status. Needs `user:write` or
    `user:update:status` (granular); another user needs their `:admin` form.
    """
    user_id = check_user_id(user_id)
    kind = check_choice(action, get_args(StatusAction), "action")
    _send(
        credentials, OPERATIONS["update_user_status"].bind(user_id=user_id), json={"action": kind}
    )
    run_logger().info("Zoom user %s: %s", user_id, kind)


@zoom_task(
    "delete_user",
    name="Zoom: delete user",
    tags=("users",),
    retry_condition=retry_if_not_created,
)
def delete_user(
    credentials: CredentialsLike,
    user_id: str,
    action: DeleteAction = "disassociate",
    transfer_email: str | None = None,
    transfer_meeting: bool = False,
    transfer_webinar: bool = False,
    transfer_recording: bool = False,
    transfer_whiteboard: bool = False,
) -> None:
    """Remove a user from the account: ``disassociate`` (Zoom's default: they keep a Zoom
    account of their own; the only way for a pending user) or ``delete`` (for good).

    Their meetings, webinars, recordings and whiteboards move to ``transfer_email`` when the
    matching ``transfer_*`` flag is set (checked before any request: a transfer needs the email).
    Retried only when Zoom surely did not act (a per-second 429, or no connection made): a
    5xx may come after the user was removed, and a second try would then fail with 404 code 1001.
    Needs `user:write:admin` or `user:delete:user:admin` (granular).
    """
    user_id = check_user_id(user_id)
    kind = check_choice(action, get_args(DeleteAction), "action")
    flags = {
        "transfer_meeting": transfer_meeting,
        "transfer_webinar": transfer_webinar,
        "transfer_recording": transfer_recording,
        "transfer_whiteboard": transfer_whiteboard,
    }
    params: dict[str, Any] = {"action": kind}
    if transfer_email is not None:
        params["transfer_email"] = check_user_id(transfer_email, "transfer_email")
        if params["transfer_email"].lower() == user_id.lower():
            raise ZoomInputError(
                "transfer_email", "is the user being removed", "Name another user of the account."
            )
    elif any(flags.values()):
        raise ZoomInputError(
            "transfer_email",
            "is needed to transfer " + ", ".join(k[9:] for k, v in flags.items() if v),
            "Give the email of the user who receives them.",
        )
    params |= {key: "true" for key, value in flags.items() if value}
    _send(credentials, OPERATIONS["delete_user"].bind(user_id=user_id), params=params)
    run_logger().info("Zoom user %s: %s", user_id, kind)


__all__ = ["create_user", "delete_user", "get_user", "list_users", "set_user_status", "update_user"]
