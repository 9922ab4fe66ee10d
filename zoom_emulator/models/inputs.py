"""What the meeting endpoints accept, typed as Zoom checks it (strict JSON types: a number sent
as a string is refused; unknown fields are ignored). Limits from the spec's request schemas."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zoom_emulator.models.operations import load_spec

MAX_END_TIMES = 60
PASSWORD_PATTERN = r"^[A-Za-z0-9@_*\-]*$"


class _Body(BaseModel):
    """Strict JSON types; unknown fields are ignored as Zoom ignores them."""

    model_config = ConfigDict(strict=True, extra="ignore")


class RecurrenceIn(_Body):
    type: Literal[1, 2, 3]
    repeat_interval: int | None = Field(None, ge=1)
    weekly_days: str | None = Field(None, pattern=r"^[1-7](,[1-7])*$")
    monthly_day: int | None = Field(None, ge=1, le=31)
    monthly_week: Literal[-1, 1, 2, 3, 4] | None = None
    monthly_week_day: Literal[1, 2, 3, 4, 5, 6, 7] | None = None
    end_times: int | None = Field(None, ge=1, le=MAX_END_TIMES)
    end_date_time: str | None = None


class SettingsIn(_Body):
    """The settings the pack uses, typed; any other setting is kept as sent."""

    model_config = ConfigDict(strict=True, extra="allow")

    host_video: bool | None = None
    participant_video: bool | None = None
    join_before_host: bool | None = None
    jbh_time: Literal[0, 5, 10] | None = None
    mute_upon_entry: bool | None = None
    waiting_room: bool | None = None
    watermark: bool | None = None
    use_pmi: bool | None = None
    approval_type: Literal[0, 1, 2] | None = None
    registration_type: Literal[1, 2, 3] | None = None
    audio: Literal["both", "telephony", "voip", "thirdParty"] | None = None
    auto_recording: Literal["local", "cloud", "none"] | None = None
    alternative_hosts: str | None = None
    meeting_authentication: bool | None = None
    email_notification: bool | None = None
    private_meeting: bool | None = None
    close_registration: bool | None = None
    registrants_confirmation_email: bool | None = None
    registrants_email_notification: bool | None = None
    allow_multiple_devices: bool | None = None
    show_share_button: bool | None = None
    focus_mode: bool | None = None
    encryption_type: Literal["enhanced_encryption", "e2ee"] | None = None
    calendar_type: Literal[1, 2] | None = None
    contact_name: str | None = None
    contact_email: str | None = None


class TrackingFieldIn(_Body):
    field: str
    value: str | None = None


class _ScheduledIn(_Body):
    """What meetings and webinars are scheduled with alike."""

    topic: str | None = Field(None, max_length=200)
    start_time: str | None = None
    duration: int | None = Field(None, ge=0)
    timezone: str | None = None
    password: str | None = Field(None, max_length=10, pattern=PASSWORD_PATTERN)
    agenda: str | None = Field(None, max_length=2000)
    schedule_for: str | None = None
    settings: SettingsIn | None = None


class MeetingIn(_ScheduledIn):
    """Body of create (``POST /users/{userId}/meetings``) and update (``PATCH``)."""

    type: Literal[1, 2, 3, 8] | None = None
    default_password: bool | None = None
    pre_schedule: bool | None = None
    recurrence: RecurrenceIn | None = None
    tracking_fields: list[TrackingFieldIn] | None = None
    template_id: str | None = None


class WebinarIn(_ScheduledIn):
    """Body of ``POST /users/{userId}/webinars`` and ``PATCH /webinars/{webinarId}``: a one-time
    (5), no-fixed-time recurring (6) or fixed-time recurring (9) webinar."""

    type: Literal[5, 6, 9] | None = None
    recurrence: RecurrenceIn | None = None


class AttendeeIn(_Body):
    name: str = Field(min_length=1, max_length=64)


class InviteLinksIn(_Body):
    attendees: list[AttendeeIn] = Field(min_length=1, max_length=500)
    ttl: int = Field(7200, ge=0, le=7_776_000)


class CustomQuestionIn(_Body):
    title: str
    value: str = Field(max_length=128)


class RegistrantIn(_Body):
    email: str = Field(max_length=128, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    first_name: str = Field(min_length=1, max_length=64)
    last_name: str | None = Field(None, max_length=64)
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    phone: str | None = None
    comments: str | None = None
    industry: str | None = None
    job_title: str | None = None
    org: str | None = None
    custom_questions: list[CustomQuestionIn] | None = None
    language: str | None = None
    auto_approve: bool | None = None


EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class UserInfoIn(_Body):
    email: str = Field(max_length=128, pattern=EMAIL_PATTERN)
    type: Literal[1, 2, 99]
    first_name: str | None = Field(None, max_length=64)
    last_name: str | None = Field(None, max_length=64)
    display_name: str | None = Field(None, max_length=128)
    password: str | None = Field(None, min_length=8, max_length=32)


class UserCreateIn(_Body):
    """Body of ``POST /users``."""

    action: Literal["create", "autoCreate", "custCreate", "ssoCreate"]
    user_info: UserInfoIn


class UserUpdateIn(_Body):
    """Body of ``PATCH /users/{userId}`` (the profile fields the emulator keeps)."""

    first_name: str | None = Field(None, max_length=64)
    last_name: str | None = Field(None, max_length=64)
    display_name: str | None = Field(None, max_length=128)
    type: Literal[1, 2, 99] | None = None
    timezone: str | None = None
    dept: str | None = None
    job_title: str | None = Field(None, max_length=128)


class UserStatusIn(_Body):
    """Body of ``PUT /users/{userId}/status``."""

    action: Literal["activate", "deactivate", "clock_in", "clock_out"]


MAX_STATUS_REGISTRANTS = 30
"""Registrants one ``PUT …/registrants/status`` may name (the spec's ``registrants`` maximum)."""


class RegistrantRefIn(_Body):
    id: str | None = None
    email: str | None = None


class RegistrantStatusIn(_Body):
    action: Literal["approve", "cancel", "deny"]
    registrants: list[RegistrantRefIn] = Field(min_length=1, max_length=MAX_STATUS_REGISTRANTS)


@cache
def question_fields() -> frozenset[str]:
    """The standard registration fields a form may ask for: the spec's ``field_name`` enum."""
    operation = load_spec()["paths"]["/meetings/{meetingId}/registrants/questions"]["patch"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return frozenset(schema["properties"]["questions"]["items"]["properties"]["field_name"]["enum"])


class QuestionIn(_Body):
    field_name: str
    required: bool = False

    @field_validator("field_name")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in question_fields():
            raise ValueError(f"must be one of {', '.join(sorted(question_fields()))}")
        return value


class CustomQuestionDefIn(_Body):
    title: str = Field(min_length=1)
    type: Literal["short", "single"] = "short"
    required: bool = False
    answers: list[str] | None = None


class RegistrationQuestionsIn(_Body):
    questions: list[QuestionIn] | None = None
    custom_questions: list[CustomQuestionDefIn] | None = None
