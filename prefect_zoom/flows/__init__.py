"""prefect-zoom flows: ready-made Prefect flows that take the NAME of a saved Zoom connection."""

from prefect_zoom.exceptions import PartitionsFailedError
from prefect_zoom.flows._archive import ArchiveReport
from prefect_zoom.flows._watch import WatchCursor
from prefect_zoom.flows.archive_meeting_recordings import archive_meeting_recordings
from prefect_zoom.flows.archive_recordings import archive_recordings
from prefect_zoom.flows.attendance_report import attendance_report
from prefect_zoom.flows.check_connection import ConnectionReport, check_connection
from prefect_zoom.flows.meetings_report import meetings_report
from prefect_zoom.flows.schedule_meetings import RowResult, schedule_meetings
from prefect_zoom.flows.sync_users import SyncRow, sync_users
from prefect_zoom.flows.users_report import users_report
from prefect_zoom.flows.watch_zoom import WatchReport, watch_zoom

__all__ = [
    "ArchiveReport",
    "ConnectionReport",
    "PartitionsFailedError",
    "RowResult",
    "SyncRow",
    "WatchCursor",
    "WatchReport",
    "archive_meeting_recordings",
    "archive_recordings",
    "attendance_report",
    "check_connection",
    "meetings_report",
    "schedule_meetings",
    "sync_users",
    "users_report",
    "watch_zoom",
]
