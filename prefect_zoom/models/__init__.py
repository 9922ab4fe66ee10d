"""Typed models of what the pack sends to and gets from Zoom (Zoom's extra fields are kept)."""

from prefect_zoom.models._base import ZoomModel, parse_input
from prefect_zoom.models.attendance import Participant, PastMeeting, PastMeetingInstance
from prefect_zoom.models.meetings import (
    InviteLink,
    Meeting,
    MeetingRequest,
    MeetingSettings,
    MeetingType,
    Occurrence,
    Recurrence,
    RecurrenceType,
    Registrant,
    RegistrantRequest,
    ScheduledMeeting,
    Webinar,
)
from prefect_zoom.models.recordings import DateRange, RecordingFile, RecordingMeeting
from prefect_zoom.models.registrants import (
    CustomRegistrationQuestion,
    MeetingRegistrant,
    RegistrantAction,
    RegistrantStatus,
    RegistrationQuestion,
    RegistrationQuestions,
)
from prefect_zoom.models.transcripts import Transcript, TranscriptSegment
from prefect_zoom.models.users import NewUser, User, UserChanges
from prefect_zoom.models.webinars import WebinarParticipant, WebinarRegistrant

__all__ = [
    "CustomRegistrationQuestion",
    "DateRange",
    "InviteLink",
    "Meeting",
    "MeetingRegistrant",
    "MeetingRequest",
    "MeetingSettings",
    "MeetingType",
    "NewUser",
    "Occurrence",
    "Participant",
    "PastMeeting",
    "PastMeetingInstance",
    "RecordingFile",
    "RecordingMeeting",
    "Recurrence",
    "RecurrenceType",
    "Registrant",
    "RegistrantAction",
    "RegistrantRequest",
    "RegistrantStatus",
    "RegistrationQuestion",
    "RegistrationQuestions",
    "ScheduledMeeting",
    "Transcript",
    "TranscriptSegment",
    "User",
    "UserChanges",
    "Webinar",
    "WebinarParticipant",
    "WebinarRegistrant",
    "ZoomModel",
    "parse_input",
]
