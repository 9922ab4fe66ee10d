"""The public API is deliberate: each package exports exactly the names listed here.

Adding or dropping a public name means editing this file, as in httpx's test of the same name.
The names are listed as words, so the list reads as a list and not as a copy of ``__all__``.
"""

from __future__ import annotations

import importlib
import types

import pytest


def names(words: str) -> set[str]:
    """The names in ``words``, separated by white space."""
    return set(words.split())


EXPORTED: dict[str, set[str]] = {
    "prefect_zoom": names(
        """
        __version__ AsyncZoomClient ConnectionLockTimeout ZoomAPIError ZoomAuthError
        ZoomAuthorizeAgainError ZoomClient ZoomDownloadError ZoomError ZoomForeignHostError
        ZoomInputError ZoomMissingScopesError ZoomNotFoundError ZoomOAuthCredentials
        ZoomPreapprovalRequiredError ZoomRateLimitError ZoomServerError
        ZoomServerToServerCredentials ZoomValidationError
        """
    ),
    "prefect_zoom.tasks": names(
        """
        add_meeting_registrant create_invitation_links create_meeting create_user delete_meeting
        delete_meeting_registrant delete_recordings delete_user delete_webinar
        download_meeting_recordings download_recording_file get_meeting get_meeting_invitation
        get_meeting_recordings get_meeting_registration_questions get_transcript get_user
        get_webinar list_meeting_registrants list_meetings list_recordings list_users
        list_webinars recover_recordings schedule_meeting_once schedule_one_time_meeting
        schedule_one_time_webinar schedule_recurring_meeting set_user_status update_meeting
        update_meeting_registrant_status update_meeting_registration_questions update_user
        zoom_request
        get_past_meeting list_past_meeting_instances list_past_meeting_participants
        report_meeting_participants
        add_webinar_registrant delete_webinar_registrant list_past_webinar_participants
        list_webinar_absentees list_webinar_registrants schedule_no_fixed_time_webinar
        schedule_recurring_webinar update_webinar update_webinar_registrant_status
        """
    ),
    "prefect_zoom.transfer": names(
        """
        acceptable_content_type beside check_relative_path CHUNK_SIZE DEFAULT_RETRY_DELAYS
        Destination download_many download_recording download_to_path DownloadJob DownloadResult
        IN_MEMORY_LIMIT make_durable partial_path staging_root TransferOptions
        UnsafePartialError ZoomDownloadError
        """
    ),
    "prefect_zoom.webhooks": names(
        """
        BadSignatureError create_receiver_app default_spool_path FutureTimestampError
        InvalidTimestampError MissingHeaderError prefect_event ReceiverSettings SECRET_KEYS sign
        Spool SpoolError StaleTimestampError url_validation_answer verify WEBHOOK_PATH
        WebhookReceiver WebhookVerificationError
        """
    ),
    "prefect_zoom.flows": names(
        """
        archive_meeting_recordings archive_recordings ArchiveReport check_connection
        ConnectionReport meetings_report PartitionsFailedError RowResult schedule_meetings
        sync_users SyncRow users_report
        attendance_report
        WatchCursor WatchReport watch_zoom
        """
    ),
    "zoom_emulator": names(
        """
        create_app EmulatorConfig FaultSettings free_port running_emulator ZoomEmulator
        """
    ),
}


@pytest.mark.parametrize("module_name", sorted(EXPORTED))
def test_exported_names_are_the_listed_ones(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice in __all__"
    assert set(module.__all__) == EXPORTED[module_name]


@pytest.mark.parametrize("module_name", sorted(EXPORTED))
def test_every_exported_name_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


@pytest.mark.parametrize("module_name", sorted(EXPORTED))
def test_every_public_name_is_exported(module_name: str) -> None:
    """A public (no leading underscore) name of the package, other than a submodule, is in ``__all__``."""
    module = importlib.import_module(module_name)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(public - set(module.__all__)) == []
