"""Prefect tasks for Zoom users: the connection's own user, and the account's users."""

from __future__ import annotations

from typing import Literal, get_args

from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.client.calls import call_json, call_pages
from prefect_zoom.models import User
from prefect_zoom.tasks._common import CredentialsLike, client_for, run_logger, zoom_task
from prefect_zoom.tasks.meetings import check_choice, check_user_id

UserStatus = Literal["active", "inactive", "pending"]


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


__all__ = ["get_user", "list_users"]
