"""Zoom's error answers: ``{"code", "message"[, "errors"]}`` with an ``x-zm-trackingid`` header."""

from __future__ import annotations

import uuid
from typing import Any


def tracking_id() -> str:
    """A fresh tracking id, shaped like Zoom's."""
    return f"v=2.0;clid=us06;rid=WEB_{uuid.uuid4().hex}"


class ZoomError(Exception):
    """Raise inside a route to answer as Zoom does."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class OAuthError(Exception):
    """Raise inside an OAuth route: Zoom answers ``{"reason", "error"}`` there."""

    def __init__(self, status: int, error: str, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason
        self.code = code

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": self.reason, "error": self.error}
        if self.code is not None:
            body["code"] = self.code
        return body


# Zoom's REST API errors the emulator answers: name -> (HTTP status, code, message template).
# Sources: https://developers.zoom.us/docs/api/errors (the JSON shape, 124, 300, 4711), the spec's
# `responses` of each operation (200, 1001, 1010, 3000, 3001, 3002, 3301, 404 for registration;
# for users: 409/1005, 300, 200 and 1117 of userCreate, userStatus and userDelete; 200 and 3001
# for webinars; 3000 of webinarRegistrantCreate, 3001 of listWebinarParticipants; 3001, 300 and 200
# of pastMeetingDetails and pastMeetingParticipants),
# and Zoom staff on https://devforum.zoom.us/t/granular-scopes-specification-change-of-scope-setting-for-creating-oauth-apps-on-the-developer-site/108207
# (the 4711 message). docs/zoom-behaviour.md ("REST API: errors") lists them with the same sources.
_QUERY_TOKEN = "Invalid access token, this access token is not supported as query parameter string."
_IN_PROGRESS = "Sorry, you cannot delete this meeting since it is in progress."
_NO_REGISTRATION = "Registration has not been enabled for this meeting: {meeting_id}."
_NO_WEBINAR_PLAN = (
    "Subscription plan for webinar is missing. Enable webinar for this user once the "
    "subscription plan is added:{user_id}."
)
_NO_WEBINAR_REGISTRATION = "This webinar does not have registration as required: {webinar_id}."
_RANGE_TOO_LONG = (
    "The date range exceeds one month. 'from' and 'to' may be at most one month apart."
)
ERRORS: dict[str, tuple[int, int, str]] = {
    "invalid_token": (401, 124, "Invalid access token."),
    "expired_token": (401, 124, "Access token is expired."),
    "token_in_query": (401, 124, _QUERY_TOKEN),
    "missing_scopes": (400, 4711, "Invalid access token, does not contain scopes:[{scopes}]."),
    "validation_failed": (400, 300, "Validation Failed."),
    "no_permission": (400, 200, "No permission."),
    "user_not_found": (404, 1001, "User does not exist: {user_id}."),
    "user_not_on_account": (404, 1001, "User {user_id} not exist or not belong to this account."),
    "user_on_other_account": (400, 1010, "User does not belong to this account: {account_id}."),
    "meeting_not_found": (404, 3001, "Meeting does not exist: {meeting_id}."),
    "cannot_access_meeting": (400, 3000, "Cannot access meeting info."),
    "invalid_occurrence": (400, 3000, "Invalid occurrence_id."),
    "meeting_in_progress": (400, 3002, _IN_PROGRESS),
    "registration_off": (404, 404, _NO_REGISTRATION),
    "webinar_not_found": (404, 3001, "Webinar does not exist: {webinar_id}."),
    "no_webinar_plan": (400, 200, _NO_WEBINAR_PLAN),
    "webinar_registration_off": (400, 3000, _NO_WEBINAR_REGISTRATION),
    "webinar_not_held": (404, 3001, "Webinar does not exist."),
    "no_recording": (404, 3301, "This recording does not exist."),
    "range_too_long": (400, 300, _RANGE_TOO_LONG),
    "past_meeting_not_found": (
        404,
        3001,
        "The meeting ID is invalid or the meeting has not ended.",
    ),
    "cannot_access_past_meeting": (400, 300, "Cannot access meeting information."),
    "paid_account_only": (400, 200, "Only available for paid account: {account_id}."),
    "email_taken": (409, 1005, 'Email "{email}" has already been used.'),
    "sso_type_only": (400, 300, "User type 99 (None) can only be set with the ssoCreate action."),
    "admin_status": (
        400,
        200,
        "Zoom Room and Admin users' status cannot be activated or deactivated.",
    ),
    "cannot_remove_owner": (400, 1117, "You can not disassociate an Admin user."),
    "transfer_to_self": (
        400,
        300,
        "The transfer-to email address cannot be the same as the unlinked or deleted user's email "
        "address.",
    ),
}


def zoom_error(name: str, **fields: object) -> ZoomError:
    """The error of :data:`ERRORS` called ``name``, its message filled with ``fields``."""
    status, code, template = ERRORS[name]
    return ZoomError(status, code, template.format(**fields))


def validation_failed(errors: list[dict[str, str]]) -> ZoomError:
    """Zoom's 300 "Validation Failed." with one entry per bad field."""
    error = zoom_error("validation_failed")
    error.errors = errors
    return error
