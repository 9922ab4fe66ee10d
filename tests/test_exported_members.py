"""The public API is deliberate: each package exports exactly the names listed here.

Adding or dropping a public name means editing this file, as in httpx's test of the same name.
"""

from __future__ import annotations

import importlib
import types

import pytest

EXPORTED = {
    "prefect_zoom": {
        "AsyncZoomClient",
        "ConnectionLockTimeout",
        "ZoomAPIError",
        "ZoomAuthError",
        "ZoomAuthorizeAgainError",
        "ZoomClient",
        "ZoomDownloadError",
        "ZoomError",
        "ZoomForeignHostError",
        "ZoomInputError",
        "ZoomMissingScopesError",
        "ZoomNotFoundError",
        "ZoomOAuthCredentials",
        "ZoomPreapprovalRequiredError",
        "ZoomRateLimitError",
        "ZoomServerError",
        "ZoomServerToServerCredentials",
        "ZoomValidationError",
        "__version__",
    },
    "prefect_zoom.tasks": {
        "add_meeting_registrant",
        "create_invitation_links",
        "create_meeting",
        "create_user",
        "delete_user",
        "set_user_status",
        "update_user",
        "delete_meeting",
        "delete_recordings",
        "download_meeting_recordings",
        "download_recording_file",
        "get_meeting",
        "get_meeting_invitation",
        "get_meeting_recordings",
        "get_transcript",
        "get_user",
        "list_meetings",
        "list_recordings",
        "list_users",
        "recover_recordings",
        "schedule_meeting_once",
        "schedule_one_time_meeting",
        "schedule_recurring_meeting",
        "update_meeting",
        "zoom_request",
        # meeting registrants
        "delete_meeting_registrant",
        "get_meeting_registration_questions",
        "list_meeting_registrants",
        "update_meeting_registrant_status",
        "update_meeting_registration_questions",
        # webinars
        "delete_webinar",
        "get_webinar",
        "list_webinars",
        "schedule_one_time_webinar",
    },
    "prefect_zoom.transfer": {
        # one file: the protocol and its options
        "download_to_path",
        "TransferOptions",
        "DEFAULT_RETRY_DELAYS",
        "DownloadResult",
        "acceptable_content_type",
        # local files
        "CHUNK_SIZE",
        "partial_path",
        "make_durable",
        "staging_root",
        # destinations
        "Destination",
        "download_recording",
        "check_relative_path",
        "beside",
        "IN_MEMORY_LIMIT",
        # many files
        "download_many",
        "DownloadJob",
        # its errors, defined in prefect_zoom.exceptions
        "ZoomDownloadError",
        "UnsafePartialError",
    },
    "prefect_zoom.webhooks": {
        # the receiver and its settings
        "create_receiver_app",
        "WebhookReceiver",
        "ReceiverSettings",
        "WEBHOOK_PATH",
        # the Prefect event and what it leaves out
        "prefect_event",
        "SECRET_KEYS",
        # Zoom's signature
        "sign",
        "verify",
        "url_validation_answer",
        "WebhookVerificationError",
        "MissingHeaderError",
        "InvalidTimestampError",
        "StaleTimestampError",
        "FutureTimestampError",
        "BadSignatureError",
        # the spool
        "Spool",
        "SpoolError",
        "default_spool_path",
    },
    "prefect_zoom.flows": {
        "ArchiveReport",
        "ConnectionReport",
        "RowResult",
        "SyncRow",
        "sync_users",
        "archive_meeting_recordings",
        "archive_recordings",
        "check_connection",
        "meetings_report",
        "schedule_meetings",
        "users_report",
    },
    "zoom_emulator": {
        "ZoomEmulator",
        "running_emulator",
        "EmulatorConfig",
        "FaultSettings",
        "create_app",
        "free_port",
    },
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
