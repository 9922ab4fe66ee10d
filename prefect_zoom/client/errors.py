"""Which :mod:`prefect_zoom.exceptions` error a failed Zoom answer is.

Zoom answers REST errors as ``{"code": ..., "message": ...}`` and OAuth errors as
``{"error": ..., "reason"/"error_description": ...}``; :func:`error_from_response` reads either,
with the status, headers and ``x-zm-trackingid``, and builds the matching error.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from prefect_zoom import exceptions

if TYPE_CHECKING:
    import httpx

    from prefect_zoom.catalog import Operation

AUTHORIZE_AGAIN_CODES = frozenset({4733, 4734, 4735, 4737, 4741})
PREAPPROVAL_CODES = frozenset({4738})
BAD_CLIENT_CODES = frozenset({4702, 4704, 4706, 4709, 4717})
VALIDATION_CODE = 300
REGISTRATION_OFF_CODE = 404
"""HTTP 404 code 404: "Registration has not been enabled for this meeting" (the spec)."""
REGISTRATION_OFF_HINT = (
    "Turn registration on: update the meeting with settings.approval_type 0 (automatic) or 1 "
    "(manual approval); only scheduled (type 2) and fixed-time recurring (type 8) meetings take it."
)
PAID_PLAN_HINT = (
    "Zoom keeps this only for paid accounts (Pro or higher): upgrade the account's plan in the "
    "Zoom web portal (Account Management → Billing); nothing can be read on a free plan."
)
"""HTTP 400 code 200 "Only available for paid account: {accountId}" (the spec)."""

WEBINAR_REGISTRATION_OFF_RE = re.compile(r"webinar does not have registration", re.IGNORECASE)
"""HTTP 400 code 3000: "This webinar does not have registration as required: {webinarId}." (the
spec's ``webinarRegistrantCreate``)."""
WEBINAR_REGISTRATION_OFF_HINT = (
    "Turn registration on: update the webinar with settings.approval_type 0 (automatic) or 1 "
    "(manual approval); one-time (type 5) and fixed-time recurring (type 9) webinars take it."
)

_SCOPES_RE = re.compile(r"does not contain scopes\s*:\s*\[([^\]]*)\]", re.IGNORECASE)
_PREAPPROVAL_RE = re.compile(r"pre-?approv", re.IGNORECASE)
_PAID_PLAN_RE = re.compile(r"only available for paid account", re.IGNORECASE)


def parse_retry_after(value: str | None, now: datetime | None = None) -> datetime | None:
    """When a ``Retry-After`` points: an ISO-8601 date-time (Zoom), seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    now = now or datetime.now(UTC)
    try:
        return now + timedelta(seconds=float(value))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_missing_scopes(message: str) -> list[str]:
    """The scopes in Zoom's ``does not contain scopes:[a, b].`` message."""
    match = _SCOPES_RE.search(message or "")
    if not match:
        return []
    return [scope.strip() for scope in match.group(1).split(",") if scope.strip()]


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def error_from_response(
    response: httpx.Response,
    operation: Operation | None = None,
    reconnect_command: str | None = None,
) -> exceptions.ZoomAPIError:
    """The error that matches a failed Zoom answer (REST ``{code, message}`` or OAuth)."""
    body = _body(response)
    status = response.status_code
    code = _int(body.get("code"))
    oauth_error = str(body.get("error") or "")
    message = str(
        body.get("message") or body.get("reason") or body.get("error_description") or ""
    ) or (response.reason_phrase or f"HTTP {status}")
    if oauth_error and oauth_error not in message:
        message = f"{message} ({oauth_error})"
    request = response.request if _has_request(response) else None
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "tracking_id": response.headers.get("x-zm-trackingid"),
        "method": request.method if request else None,
        "path": request.url.path if request else None,
    }
    reconnect = f" Run `{reconnect_command}`." if reconnect_command else ""

    if code in PREAPPROVAL_CODES or (status in (400, 401, 403) and _PREAPPROVAL_RE.search(message)):
        return exceptions.ZoomPreapprovalRequiredError(message, **common)
    if oauth_error == "invalid_grant" or code in AUTHORIZE_AGAIN_CODES:
        hint = "The Zoom connection is no longer authorized; authorize the app again." + reconnect
        return exceptions.ZoomAuthorizeAgainError(message, hint=hint, **common)
    if code == exceptions.MISSING_SCOPES_CODE or _SCOPES_RE.search(message):
        return exceptions.ZoomMissingScopesError(
            message,
            missing_scopes=parse_missing_scopes(message),
            scopes_to_add=(
                list(operation.scopes_to_add()) if operation and operation.all_scopes else None
            ),
            reconnect_command=reconnect_command,
            **common,
        )
    if status == 429:
        headers = response.headers
        return exceptions.ZoomRateLimitError(
            message,
            limit_type=headers.get("x-ratelimit-type"),
            reset_at=parse_retry_after(headers.get("retry-after")),
            category=headers.get("x-ratelimit-category"),
            **common,
        )
    if status == 401 or code in BAD_CLIENT_CODES or oauth_error in ("invalid_client",):
        auth_hint = exceptions.ZoomAuthError.default_hint + reconnect if reconnect_command else None
        return exceptions.ZoomAuthError(message, hint=auth_hint, **common)
    if status == 404 and code == REGISTRATION_OFF_CODE and "registration" in message.lower():
        return exceptions.ZoomNotFoundError(message, hint=REGISTRATION_OFF_HINT, **common)
    if status == 404:
        return exceptions.ZoomNotFoundError(message, **common)
    if code == VALIDATION_CODE:
        return exceptions.ZoomValidationError(
            message, errors=list(body.get("errors") or []), **common
        )
    if status >= 500:
        return exceptions.ZoomServerError(message, **common)
    if WEBINAR_REGISTRATION_OFF_RE.search(message):
        return exceptions.ZoomAPIError(message, hint=WEBINAR_REGISTRATION_OFF_HINT, **common)
    if _PAID_PLAN_RE.search(message):
        return exceptions.ZoomAPIError(message, hint=PAID_PLAN_HINT, **common)
    return exceptions.ZoomAPIError(message, **common)


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises when the response was built without one
    except RuntimeError:
        return False
    return True


__all__ = [
    "AUTHORIZE_AGAIN_CODES",
    "BAD_CLIENT_CODES",
    "PAID_PLAN_HINT",
    "PREAPPROVAL_CODES",
    "VALIDATION_CODE",
    "error_from_response",
    "parse_missing_scopes",
    "parse_retry_after",
]
