"""Errors raised by prefect-zoom: what Zoom said, its tracking id, and what to do about it.

Every error names the HTTP status, Zoom's error code and message, the ``x-zm-trackingid`` and a
hint. None of them ever carries an access token, a refresh token or a client secret.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from prefect_zoom.catalog import Operation

AUTHORIZE_AGAIN_CODES = frozenset({4733, 4734, 4735, 4737, 4741})
PREAPPROVAL_CODES = frozenset({4738})
BAD_CLIENT_CODES = frozenset({4702, 4704, 4706, 4709, 4717})
MISSING_SCOPES_CODE = 4711
VALIDATION_CODE = 300

_SCOPES_RE = re.compile(r"does not contain scopes\s*:\s*\[([^\]]*)\]", re.IGNORECASE)
_PREAPPROVAL_RE = re.compile(r"pre-?approv", re.IGNORECASE)


class ZoomInputError(ValueError):
    """Bad input caught before any request: names the field and how to fix it."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. {fix}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.problem, self.fix))


class ZoomAPIError(Exception):
    """Zoom answered with an error (or could not be reached)."""

    default_hint = "See Zoom's message above; quote the tracking id if you contact Zoom support."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        tracking_id: str | None = None,
        hint: str | None = None,
        method: str | None = None,
        path: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.tracking_id = tracking_id
        self.hint = hint or self.default_hint
        self.method = method
        self.path = path
        self.errors = errors or []

    def __str__(self) -> str:
        where = f" on {self.method} {self.path}" if self.method and self.path else ""
        status = f"HTTP {self.status}" if self.status is not None else "no HTTP status"
        code = f", code {self.code}" if self.code is not None else ""
        parts = [f"Zoom error{where} ({status}{code}): {self.message}"]
        for error in self.errors:
            parts.append(f"  - {error.get('field', '?')}: {error.get('message', '')}")
        parts.append(f"What to do: {self.hint}")
        parts.append(f"Tracking id: {self.tracking_id or 'none'}")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r})"


class ZoomAuthError(ZoomAPIError):
    """Zoom does not accept the credentials (a 401 that persists after a refresh, bad client)."""

    default_hint = (
        "Check the connection's client id and client secret; if they are right, reconnect the "
        "account so a fresh token is issued."
    )


class ZoomAuthorizeAgainError(ZoomAuthError):
    """The connection's grant is gone (``invalid_grant``, 4733-4741): the user must reconnect."""

    default_hint = "Authorize the Zoom app again to create a new connection."


class ZoomPreapprovalRequiredError(ZoomAuthError):
    """The account requires an admin to pre-approve this app (4738)."""

    default_hint = (
        "Ask a Zoom account admin to pre-approve the app: Zoom App Marketplace → Manage → "
        "Permissions → find the app → Pre-approve (or turn pre-approval back on); then connect again."
    )


class ZoomMissingScopesError(ZoomAPIError):
    """The connection lacks a scope the operation needs (400, code 4711)."""

    def __init__(
        self,
        message: str,
        *,
        missing_scopes: list[str] | None = None,
        scopes_to_add: list[str] | None = None,
        reconnect_command: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.missing_scopes = missing_scopes or []
        self.scopes_to_add = scopes_to_add or self.missing_scopes
        add = ", ".join(self.scopes_to_add) or "the scopes the operation needs"
        hint = (
            f"Add one of these scopes to the app in the Zoom App Marketplace (Manage → your app → "
            f"Scopes): {add}; then reconnect"
        )
        hint += f" with `{reconnect_command}`." if reconnect_command else "."
        kwargs.setdefault("hint", hint)
        kwargs.setdefault("code", MISSING_SCOPES_CODE)
        super().__init__(message, **kwargs)


class ZoomRateLimitError(ZoomAPIError):
    """Zoom's rate limit (429) was hit and waiting it out was not possible or not allowed."""

    def __init__(
        self,
        message: str,
        *,
        limit_type: str | None = None,
        reset_at: datetime | None = None,
        category: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.limit_type = limit_type
        self.reset_at = reset_at
        self.category = category
        when = f" at {reset_at.isoformat()}" if reset_at else " later"
        kind = f"{limit_type} " if limit_type else ""
        kwargs.setdefault("hint", f"The {kind}rate limit resets{when}; try again then.")
        super().__init__(message, **kwargs)


class ZoomNotFoundError(ZoomAPIError):
    """The user, meeting or recording does not exist (404)."""

    default_hint = "Check the id; the resource may have been deleted or belong to another account."


class ZoomValidationError(ZoomAPIError):
    """Zoom rejected the request's fields (code 300); ``errors`` lists each field."""

    default_hint = "Fix the fields listed above and send the request again."


class ZoomServerError(ZoomAPIError):
    """Zoom failed (5xx) or could not be reached, and retries did not help."""

    default_hint = "Zoom had a problem; try again later (https://status.zoom.us)."


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
) -> ZoomAPIError:
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
        return ZoomPreapprovalRequiredError(message, **common)
    if oauth_error == "invalid_grant" or code in AUTHORIZE_AGAIN_CODES:
        hint = "The Zoom connection is no longer authorized; authorize the app again." + reconnect
        return ZoomAuthorizeAgainError(message, hint=hint, **common)
    if code == MISSING_SCOPES_CODE or _SCOPES_RE.search(message):
        return ZoomMissingScopesError(
            message,
            missing_scopes=parse_missing_scopes(message),
            scopes_to_add=list(operation.scopes_to_add()) if operation else None,
            reconnect_command=reconnect_command,
            **common,
        )
    if status == 429:
        headers = response.headers
        return ZoomRateLimitError(
            message,
            limit_type=headers.get("x-ratelimit-type"),
            reset_at=parse_retry_after(headers.get("retry-after")),
            category=headers.get("x-ratelimit-category"),
            **common,
        )
    if status == 401 or code in BAD_CLIENT_CODES or oauth_error in ("invalid_client",):
        auth_hint = ZoomAuthError.default_hint + reconnect if reconnect_command else None
        return ZoomAuthError(message, hint=auth_hint, **common)
    if status == 404:
        return ZoomNotFoundError(message, **common)
    if code == VALIDATION_CODE:
        return ZoomValidationError(message, errors=list(body.get("errors") or []), **common)
    if status >= 500:
        return ZoomServerError(message, **common)
    return ZoomAPIError(message, **common)


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises when the response was built without one
    except RuntimeError:
        return False
    return True


__all__ = [
    "ZoomAPIError",
    "ZoomAuthError",
    "ZoomAuthorizeAgainError",
    "ZoomInputError",
    "ZoomMissingScopesError",
    "ZoomNotFoundError",
    "ZoomPreapprovalRequiredError",
    "ZoomRateLimitError",
    "ZoomServerError",
    "ZoomValidationError",
    "error_from_response",
    "parse_missing_scopes",
    "parse_retry_after",
]
