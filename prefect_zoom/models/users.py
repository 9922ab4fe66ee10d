"""Users."""

from __future__ import annotations

from datetime import datetime

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
