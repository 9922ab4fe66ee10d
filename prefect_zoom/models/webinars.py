"""Webinar registrants, and who came to a held webinar (a webinar itself is
:class:`prefect_zoom.models.meetings.Webinar`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from prefect_zoom.models._base import ZoomModel
from prefect_zoom.models.registrants import MeetingRegistrant


class WebinarRegistrant(MeetingRegistrant):
    """A webinar registrant as ``list_webinar_registrants`` (and ``list_webinar_absentees``)
    return them: a meeting registrant's fields (Zoom's other fields kept)."""


class WebinarParticipant(ZoomModel):
    """Someone who joined a held webinar, as ``list_past_webinar_participants`` returns them."""

    id: str | None = Field(None, description="The participant's id (empty for some guests).")
    name: str | None = None
    user_email: str | None = Field(
        None, description="Empty when the participant is not on the host's account."
    )
    join_time: datetime | None = None
    leave_time: datetime | None = None
    duration: int | None = Field(None, description="Seconds attended.")
    registrant_id: str | None = None
    status: str | None = None
