"""Meeting registrants as Zoom lists them, and a meeting's registration questions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from prefect_zoom.models._base import ZoomModel

RegistrantStatus = Literal["approved", "pending", "denied"]
RegistrantAction = Literal["approve", "deny", "cancel"]
QuestionField = Literal[
    "last_name",
    "address",
    "city",
    "country",
    "zip",
    "state",
    "phone",
    "industry",
    "org",
    "job_title",
    "purchasing_time_frame",
    "role_in_purchase_process",
    "no_of_employees",
    "comments",
]


class MeetingRegistrant(ZoomModel):
    """A registrant as ``list_meeting_registrants`` returns them (Zoom's other fields kept)."""

    id: str = Field(..., description="The registrant id.")
    email: str
    first_name: str | None = None
    last_name: str | None = None
    status: RegistrantStatus | None = None
    create_time: datetime | None = None
    join_url: str | None = Field(None, description="The registrant's own join link.")


class RegistrationQuestion(ZoomModel):
    """One of Zoom's standard fields on the registration form (``first_name`` and ``email``
    are always asked)."""

    field_name: QuestionField
    required: bool = False


class CustomRegistrationQuestion(ZoomModel):
    """A question of your own: ``short`` (typed answer) or ``single`` (one of ``answers``)."""

    title: str = Field(..., min_length=1)
    type: Literal["short", "single"] = "short"
    required: bool = False
    answers: list[str] | None = None

    @model_validator(mode="after")
    def _answers_fit_type(self) -> CustomRegistrationQuestion:
        if self.type == "single" and not self.answers:
            raise ValueError("a 'single' question needs answers to choose from")
        if self.type == "short" and self.answers:
            raise ValueError("a 'short' question takes no answers (registrants type theirs)")
        return self


class RegistrationQuestions(ZoomModel):
    """A meeting's registration form: standard fields and custom questions.

    In an update, a list left out stays as it is; a list sent replaces Zoom's.
    """

    questions: list[RegistrationQuestion] | None = None
    custom_questions: list[CustomRegistrationQuestion] | None = None
