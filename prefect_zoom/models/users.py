"""Users."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, SecretStr

from prefect_zoom.models._base import ZoomModel


class User(ZoomModel):
    """A Zoom user as ``GET /users/{userId}`` or ``GET /users`` answers it."""

    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    type: int | None = None
    role_name: str | None = None
    """Only in ``GET /users/{userId}``: Zoom's list of users carries ``role_id`` alone."""
    role_id: str | None = None
    status: str | None = None
    timezone: str | None = None
    account_id: str | None = None
    created_at: datetime | None = None


UserType = Literal[1, 2, 99]
"""Zoom's user types: 1 Basic, 2 Licensed, 99 None (``ssoCreate`` only)."""
CreateAction = Literal["create", "autoCreate", "custCreate", "ssoCreate"]
"""How ``POST /users`` makes a user: ``create`` e-mails a confirmation link (the user is pending
until they confirm); ``autoCreate`` (managed domains, with a password), ``custCreate`` (no
password, no sign-in) and ``ssoCreate`` (pre-provisioned SSO users) make an active user."""
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class _Names(ZoomModel):
    """The names a user is created or updated with (limits from Zoom's spec)."""

    first_name: str | None = Field(None, max_length=64)
    last_name: str | None = Field(None, max_length=64)
    display_name: str | None = Field(None, max_length=128)


class NewUser(_Names):
    """The ``user_info`` of ``POST /users``."""

    email: str = Field(max_length=128, pattern=EMAIL_PATTERN)
    type: UserType = 1
    password: SecretStr | None = Field(None, min_length=8, max_length=32)
    """Only with ``autoCreate``; never logged or shown."""

    def to_zoom(self) -> dict[str, Any]:
        body = super().to_zoom()
        if self.password is not None:
            body["password"] = self.password.get_secret_value()
        return body


class UserChanges(_Names):
    """The fields of ``PATCH /users/{userId}`` the pack types."""

    type: UserType | None = None
    timezone: str | None = None
    dept: str | None = None
    job_title: str | None = Field(None, max_length=128)
