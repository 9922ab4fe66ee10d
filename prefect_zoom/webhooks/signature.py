"""Zoom webhook signatures: sign, verify, and answer the URL validation challenge.

Zoom signs every webhook request (URL validation challenges included) with the app's
*secret token*::

    x-zm-request-timestamp: 1700000000                       (seconds since the epoch)
    x-zm-signature: v0=<hex(HMAC_SHA256(secret_token, "v0:{timestamp}:{raw body}"))>

:func:`verify` checks both headers over the **raw** body bytes, in constant time, and refuses
timestamps more than ``tolerance_seconds`` (default 5 minutes) away from ``now`` in either
direction, which bounds how long a captured request can be replayed.
"""

from __future__ import annotations

import hashlib
import hmac

from prefect_zoom import exceptions

# The verification errors, importable from here too (their home before prefect_zoom.exceptions).
WebhookVerificationError = exceptions.WebhookVerificationError
MissingHeaderError = exceptions.MissingHeaderError
InvalidTimestampError = exceptions.InvalidTimestampError
StaleTimestampError = exceptions.StaleTimestampError
FutureTimestampError = exceptions.FutureTimestampError
BadSignatureError = exceptions.BadSignatureError

SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"
SIGNATURE_VERSION = "v0"
DEFAULT_TOLERANCE_SECONDS = 300
_MAX_TIMESTAMP_DIGITS = 12  # seconds until the year 33658: anything longer is not a timestamp


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _body_bytes(raw_body: bytes | str) -> bytes:
    return raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body


def sign(secret: str | bytes, timestamp: int | str, raw_body: bytes | str) -> str:
    """The ``x-zm-signature`` value Zoom sends for this timestamp and raw body."""
    message = b"v0:" + str(timestamp).encode("ascii") + b":" + _body_bytes(raw_body)
    digest = hmac.new(_secret_bytes(secret), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify(
    secret: str | bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    raw_body: bytes | str,
    *,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Return if the request is Zoom's; raise a :class:`~prefect_zoom.exceptions.WebhookVerificationError` subclass if not.

    ``now`` is the current time in seconds (``time.time()``); it is a parameter so callers and
    tests control the clock.
    """
    if not timestamp_header or not signature_header:
        missing = [
            name
            for name, value in (
                (TIMESTAMP_HEADER, timestamp_header),
                (SIGNATURE_HEADER, signature_header),
            )
            if not value
        ]
        raise MissingHeaderError(f"missing header(s): {', '.join(missing)}")
    text = timestamp_header.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_TIMESTAMP_DIGITS):
        raise InvalidTimestampError(f"{TIMESTAMP_HEADER} must be whole seconds since the epoch")
    age = now - int(text)
    if age > tolerance_seconds:
        raise StaleTimestampError(
            f"{TIMESTAMP_HEADER} is {int(age)} s old (more than {int(tolerance_seconds)} s)"
        )
    if -age > tolerance_seconds:
        raise FutureTimestampError(
            f"{TIMESTAMP_HEADER} is {int(-age)} s in the future (more than {int(tolerance_seconds)} s)"
        )
    expected = sign(secret, text, raw_body)
    given = signature_header.strip().encode("utf-8", "replace")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise BadSignatureError(f"{SIGNATURE_HEADER} does not match the body and secret token")


def encrypt_plain_token(secret: str | bytes, plain_token: str) -> str:
    """``hex(HMAC_SHA256(secret_token, plainToken))``: the challenge's ``encryptedToken``."""
    message = plain_token.encode("utf-8", "surrogatepass")
    return hmac.new(_secret_bytes(secret), message, hashlib.sha256).hexdigest()


def url_validation_answer(secret: str | bytes, plain_token: str) -> dict[str, str]:
    """The 200 body that answers an ``endpoint.url_validation`` challenge."""
    return {"plainToken": plain_token, "encryptedToken": encrypt_plain_token(secret, plain_token)}


__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "encrypt_plain_token",
    "sign",
    "url_validation_answer",
    "verify",
]
