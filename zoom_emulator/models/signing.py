"""How Zoom signs an event notification and checks an endpoint's URL-validation answer.

Source: https://developers.zoom.us/docs/api/webhooks (``x-zm-signature`` is
``v0=HMAC_SHA256(secret_token, "v0:{x-zm-request-timestamp}:{raw body}")`` in hex; the
``encryptedToken`` of an ``endpoint.url_validation`` answer is ``HMAC_SHA256(secret_token,
plainToken)`` in hex).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"


def _hmac_hex(secret_token: str, message: bytes) -> str:
    return hmac.new(secret_token.encode(), message, hashlib.sha256).hexdigest()


def signature(secret_token: str, timestamp: str, raw_body: bytes) -> str:
    """The ``x-zm-signature`` header of a notification sent at ``timestamp`` (seconds)."""
    return "v0=" + _hmac_hex(secret_token, f"v0:{timestamp}:".encode() + raw_body)


def encrypted_token(secret_token: str, plain_token: str) -> str:
    """The ``encryptedToken`` an endpoint must answer a URL-validation challenge with."""
    return _hmac_hex(secret_token, plain_token.encode())
