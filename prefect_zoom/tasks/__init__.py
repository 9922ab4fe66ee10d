"""prefect-zoom tasks."""

from prefect_zoom.tasks.attendance import (
    get_past_meeting,
    list_past_meeting_instances,
    list_past_meeting_participants,
    report_meeting_participants,
)
from prefect_zoom.tasks.meetings import (
    add_meeting_registrant,
    create_invitation_links,
    create_meeting,
    delete_meeting,
    get_meeting,
    get_meeting_invitation,
    list_meetings,
    schedule_meeting_once,
    schedule_one_time_meeting,
    schedule_recurring_meeting,
    update_meeting,
)
from prefect_zoom.tasks.past_webinars import (
    list_past_webinar_participants,
    list_webinar_absentees,
)
from prefect_zoom.tasks.raw import zoom_request
from prefect_zoom.tasks.recordings import (
    delete_recordings,
    download_meeting_recordings,
    download_recording_file,
    get_meeting_recordings,
    list_recordings,
    recover_recordings,
)
from prefect_zoom.tasks.registrants import (
    delete_meeting_registrant,
    get_meeting_registration_questions,
    list_meeting_registrants,
    update_meeting_registrant_status,
    update_meeting_registration_questions,
)
from prefect_zoom.tasks.transcripts import get_transcript
from prefect_zoom.tasks.users import (
    create_user,
    delete_user,
    get_user,
    list_users,
    set_user_status,
    update_user,
)
from prefect_zoom.tasks.webinar_registrants import (
    add_webinar_registrant,
    delete_webinar_registrant,
    list_webinar_registrants,
    update_webinar_registrant_status,
)
from prefect_zoom.tasks.webinars import (
    delete_webinar,
    get_webinar,
    list_webinars,
    schedule_no_fixed_time_webinar,
    schedule_one_time_webinar,
    schedule_recurring_webinar,
    update_webinar,
)

__all__ = [
    "add_meeting_registrant",
    "add_webinar_registrant",
    "create_invitation_links",
    "create_meeting",
    "create_user",
    "delete_meeting",
    "delete_meeting_registrant",
    "delete_recordings",
    "delete_user",
    "delete_webinar",
    "delete_webinar_registrant",
    "download_meeting_recordings",
    "download_recording_file",
    "get_meeting",
    "get_meeting_invitation",
    "get_meeting_recordings",
    "get_meeting_registration_questions",
    "get_past_meeting",
    "get_transcript",
    "get_user",
    "get_webinar",
    "list_meeting_registrants",
    "list_meetings",
    "list_past_meeting_instances",
    "list_past_meeting_participants",
    "list_past_webinar_participants",
    "list_recordings",
    "list_users",
    "list_webinar_absentees",
    "list_webinar_registrants",
    "list_webinars",
    "recover_recordings",
    "report_meeting_participants",
    "schedule_meeting_once",
    "schedule_no_fixed_time_webinar",
    "schedule_one_time_meeting",
    "schedule_one_time_webinar",
    "schedule_recurring_meeting",
    "schedule_recurring_webinar",
    "set_user_status",
    "update_meeting",
    "update_meeting_registrant_status",
    "update_meeting_registration_questions",
    "update_user",
    "update_webinar",
    "update_webinar_registrant_status",
    "zoom_request",
]
