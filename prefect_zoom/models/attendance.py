"""Meetings that were held, as Zoom reports them: instances, details and who attended."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from prefect_zoom.models._base import ZoomModel


class PastMeetingInstance(ZoomModel):
    """One ended instance of a meeting: its UUID (what the per-instance calls take)."""

    uuid: str
    start_time: datetime | None = None


class PastMeeting(ZoomModel):
    """An ended meeting instance as ``get_past_meeting`` returns it."""

    id: int = Field(..., description="The meeting number.")
    uuid: str = Field(..., description="This instance's UUID.")
    topic: str | None = None
    type: int | None = Field(None, description="1 instant, 2 scheduled, 3 and 8 recurring…")
    start_time: datetime | None = None
    end_time: datetime | None = Field(None, description="When the instance ended.")
    duration: int | None = Field(None, description="Minutes.")
    host_id: str | None = None
    user_email: str | None = Field(None, description="The host's email.")
    user_name: str | None = Field(None, description="The host's name.")
    participants_count: int | None = None
    total_minutes: int | None = Field(None, description="Minutes attended by everyone together.")


class Participant(ZoomModel):
    """One stretch of one participant in a meeting instance: who joined, when, for how long.

    Someone who left and joined again has a row per stretch. ``email`` is empty when Zoom does
    not show it (a guest, or someone outside the host's account).
    """

    id: str = Field("", description="Their Zoom user id when signed in to the account, else ''.")
    user_id: str | None = Field(None, description="Zoom's id of this participant in this meeting.")
    name: str = ""
    email: str = Field("", alias="user_email")
    join_time: datetime | None = None
    leave_time: datetime | None = None
    duration: int = Field(0, description="Seconds between join_time and leave_time.")
    status: str | None = None
