"""Every error prefect-zoom raises: one tree rooted at :class:`ZoomError`.

Each error says what went wrong and what to do; none ever carries an access token, a refresh
token or a client secret. Input errors are also ``ValueError`` and the lock timeout is also a
``TimeoutError``, so code that caught those keeps catching. The function that maps a failed Zoom
answer to one of these live beside the client, in :mod:`prefect_zoom.client.errors`.

The tree::

    ZoomError
    ├── ZoomInputError (ValueError)        bad input, caught before any request
    │   ├── ZoomForeignHostError           a download_url that is not Zoom's
    │   └── UnsafePartialError             something odd where a partial download goes
    ├── ZoomAPIError                       Zoom answered with an error (or was unreachable)
    │   ├── ZoomAuthError                  credentials refused
    │   │   ├── ZoomAuthorizeAgainError    the grant is gone: reconnect
    │   │   └── ZoomPreapprovalRequiredError
    │   ├── ZoomMissingScopesError
    │   ├── ZoomRateLimitError
    │   ├── ZoomNotFoundError
    │   ├── ZoomValidationError
    │   ├── ZoomServerError
    │   └── ZoomDownloadError              a download answered something that is not the file
    ├── SignInError                        the browser sign-in gave no tokens
    │   ├── ConsentDeclinedError
    │   ├── StateMismatchError
    │   ├── SignInTimeoutError
    │   └── AuthorizationError
    ├── ConnectionLockTimeout (TimeoutError)
    ├── WebhookVerificationError (ValueError)
    │   ├── MissingHeaderError
    │   ├── InvalidTimestampError
    │   ├── StaleTimestampError
    │   ├── FutureTimestampError
    │   └── BadSignatureError
    ├── WebhookRejectedError               a delivery the receiver answers with an HTTP error
    ├── SpoolError                         the webhook spool cannot be read or written
    │   ├── SpoolFullError
    │   └── SpoolInUseError
    ├── EventRefused                       Prefect refused an event; retrying cannot help
    ├── PrefectAPIError                    the Prefect API failed; retrying may help
    ├── AllRowsFailedError (RuntimeError)  every row of schedule_meetings failed
    └── MissingDeploySettingError (RuntimeError)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

MISSING_SCOPES_CODE = 4711
MAX_SHOWN_CHARS = 200
"""The longest piece of callback text (Zoom's ``error_description``) put in a message."""

PREAPPROVAL_ADVICE = (
    "the Zoom account requires an admin to pre-approve this app: ask an account admin to "
    "pre-approve it in the Zoom App Marketplace (Manage → Permissions), then run the command again"
)


class ZoomError(Exception):
    """The root of every error prefect-zoom raises."""


class ZoomInputError(ZoomError, ValueError):
    """Bad input caught before any request: names the field and how to fix it."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. {fix}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.problem, self.fix))


class ZoomAPIError(ZoomError):
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


class ZoomDownloadError(ZoomAPIError):
    """A download answered something that is not the file (HTML, wrong type or size)."""

    default_hint = (
        "Zoom did not send the recording. An HTML answer usually means the token may not "
        "download it or the download link expired: list the recordings again and retry; "
        "check the connection's recording scopes."
    )


class ZoomForeignHostError(ZoomInputError):
    """An absolute URL (a ``download_url``) is not Zoom's: nothing was sent to it.

    ``trusted_domains`` are the domains whose subdomains may receive the token over https.
    """

    def __init__(self, host: str, api_origin: str, trusted_domains: Sequence[str]) -> None:
        self.host = host
        self.api_origin = api_origin
        self.trusted_domains = tuple(trusted_domains)
        super().__init__(
            "download_url",
            f"refused to send the connection's token to {host}: it goes only to the API's "
            f"origin {api_origin} and over https to {', '.join(trusted_domains)} and their "
            "subdomains; nothing was sent",
            "Download the file from the download_url Zoom lists for it "
            "(GET /meetings/{meetingUUID}/recordings); a URL from another source (an unsigned "
            "webhook, an edited file list) is not trusted",
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.host, self.api_origin, self.trusted_domains))


class UnsafePartialError(ZoomInputError):
    """Something that is not a plain file of this user sits where a partial download goes."""


# ---- sign-in, locks ----------------------------------------------------------------------------
class SignInError(ZoomError):
    """The sign-in did not produce tokens; the message says why and what to do."""


class ConsentDeclinedError(SignInError):
    """The user pressed Decline on Zoom's consent page (``error=access_denied``)."""

    def __init__(self) -> None:
        super().__init__(
            "Zoom access was not granted: consent was declined in the browser; run the command "
            "again and choose Allow."
        )


class StateMismatchError(SignInError):
    """The callback's ``state`` is not the one this sign-in sent (possible forgery)."""

    def __init__(self) -> None:
        super().__init__(
            "The browser came back with a different sign-in state than this command started, "
            "so the answer was rejected (it may belong to an older or a forged sign-in). Run the "
            "command again and finish the sign-in in the tab it opens."
        )


class SignInTimeoutError(SignInError):
    """Nothing came back to the loopback redirect in time."""

    def __init__(self, timeout: float, redirect_uri: str) -> None:
        self.timeout = timeout
        super().__init__(
            f"No answer from Zoom reached {redirect_uri} within {timeout:g} s. Likely causes:\n"
            f"  1. {PREAPPROVAL_ADVICE};\n"
            "  2. the sign-in was not finished in the browser (sign in, then choose Allow): run "
            "the command again, or pass a longer --timeout;\n"
            "  3. Zoom showed an error page instead of coming back: the app's redirect URL in "
            f"the Marketplace must be {_portless(redirect_uri)} (Zoom ignores the port of a "
            "loopback address)."
        )


class AuthorizationError(SignInError):
    """Zoom sent the browser back with an OAuth error other than a declined consent."""

    def __init__(self, error: str, description: str | None) -> None:
        self.error = shown_text(error)
        detail = f": {shown_text(description)}" if description else ""
        super().__init__(
            f"Zoom refused the authorization ({self.error}{detail}). Check the app's client id and "
            "redirect URL in the Zoom App Marketplace, then run the command again."
        )


class ConnectionLockTimeout(ZoomError, TimeoutError):
    """Waited ``auth.locks.ACQUIRE_TIMEOUT_SECONDS`` for a connection's lock; says what blocked."""

    def __init__(self, key: str, waited: float, blocking: str) -> None:
        super().__init__(
            f"Gave up after {waited:.0f} s waiting for the lock of Zoom connection {key!r}: "
            f"{blocking}."
        )
        self.key = key
        self.blocking = blocking


# ---- webhooks ----------------------------------------------------------------------------------
class WebhookVerificationError(ZoomError, ValueError):
    """A webhook request is not provably from Zoom. ``reason`` is a short machine-readable tag."""

    reason = "invalid"


class MissingHeaderError(WebhookVerificationError):
    """``x-zm-signature`` or ``x-zm-request-timestamp`` is absent or empty."""

    reason = "missing_header"


class InvalidTimestampError(WebhookVerificationError):
    """``x-zm-request-timestamp`` is not a whole number of seconds."""

    reason = "invalid_timestamp"


class StaleTimestampError(WebhookVerificationError):
    """The timestamp is older than the tolerance: a late or replayed request."""

    reason = "stale_timestamp"


class FutureTimestampError(WebhookVerificationError):
    """The timestamp is further in the future than the tolerance."""

    reason = "future_timestamp"


class BadSignatureError(WebhookVerificationError):
    """``x-zm-signature`` does not match the body, timestamp and secret token."""

    reason = "bad_signature"


class WebhookRejectedError(ZoomError):
    """A webhook delivery the receiver refuses with HTTP ``status`` and ``reason``.

    Also importable as ``prefect_zoom.webhooks.receiver.Rejected``, its old name.
    """

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


class SpoolError(ZoomError):
    """The spool could not be read or written (the receiver answers 503 so that Zoom retries)."""


class SpoolFullError(SpoolError):
    """The spool already holds ``max_pending`` deliveries that Prefect has not accepted yet."""


class SpoolInUseError(SpoolError):
    """Another receiver holds this spool."""


class EventRefused(ZoomError):
    """Prefect refused the event for a reason a retry cannot fix (e.g. HTTP 422)."""


class PrefectAPIError(ZoomError):
    """The Prefect API answered with an error worth retrying (5xx, 408, 429)."""


# ---- flows and deployments ---------------------------------------------------------------------
class AllRowsFailedError(ZoomError, RuntimeError):
    """Every row of a ``schedule_meetings`` run failed."""


class PartitionsFailedError(ZoomError, RuntimeError):
    """Partitions of an archive still failed after their retries (the others' files are kept)."""


class MissingDeploySettingError(ZoomError, RuntimeError):
    """A variable that ``deployments/prefect.yaml`` needs is not set (or not usable)."""


# ---- message helpers ---------------------------------------------------------------------------
def shown_text(text: str | None) -> str:
    """Callback text made safe to show: no control characters (terminal escapes), one line,
    at most ``MAX_SHOWN_CHARS`` characters. (Pages also HTML-escape it.)"""
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text or "").split())
    if len(cleaned) > MAX_SHOWN_CHARS:
        return cleaned[: MAX_SHOWN_CHARS - 1] + "…"
    return cleaned


def _portless(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.hostname}{parts.path}"


_MOVED_TO_CLIENT = frozenset({"error_from_response", "parse_missing_scopes", "parse_retry_after"})


def __getattr__(name: str) -> Any:
    """``error_from_response`` and the parsers moved to :mod:`prefect_zoom.client.errors`."""
    if name in _MOVED_TO_CLIENT:
        from prefect_zoom.client import errors

        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MAX_SHOWN_CHARS",
    "MISSING_SCOPES_CODE",
    "PREAPPROVAL_ADVICE",
    "AllRowsFailedError",
    "AuthorizationError",
    "BadSignatureError",
    "ConnectionLockTimeout",
    "ConsentDeclinedError",
    "EventRefused",
    "FutureTimestampError",
    "InvalidTimestampError",
    "MissingDeploySettingError",
    "MissingHeaderError",
    "PartitionsFailedError",
    "PrefectAPIError",
    "SignInError",
    "SignInTimeoutError",
    "SpoolError",
    "SpoolFullError",
    "SpoolInUseError",
    "StaleTimestampError",
    "StateMismatchError",
    "UnsafePartialError",
    "WebhookRejectedError",
    "WebhookVerificationError",
    "ZoomAPIError",
    "ZoomAuthError",
    "ZoomAuthorizeAgainError",
    "ZoomDownloadError",
    "ZoomError",
    "ZoomForeignHostError",
    "ZoomInputError",
    "ZoomMissingScopesError",
    "ZoomNotFoundError",
    "ZoomPreapprovalRequiredError",
    "ZoomRateLimitError",
    "ZoomServerError",
    "ZoomValidationError",
    "shown_text",
]
