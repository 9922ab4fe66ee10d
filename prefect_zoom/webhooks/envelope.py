"""A Zoom webhook delivery's envelope: verify its signature, parse it, scrub its secrets.

No HTTP server and no Prefect here: the receiver (:mod:`prefect_zoom.webhooks.receiver`) hands
this module the raw body and headers; every refusal is a
:class:`~prefect_zoom.exceptions.WebhookRejectedError` carrying the HTTP status to answer.

* Signature: ``x-zm-signature`` over the **raw** body bytes and ``x-zm-request-timestamp``
  (at most 5 minutes off), checked by :mod:`prefect_zoom.webhooks.signature` → 401 when
  missing, stale, from the future or wrong.
* Content: ``Content-Type`` must be JSON (415); the body must be UTF-8 JSON (400) shaped like
  Zoom's envelope ``{"event", "event_ts", "payload": {"account_id", "object"}}`` (422).
* Secrets: :func:`scrub` drops every ``plainToken``, ``encryptedToken``, ``password``,
  ``encrypted_password``, ``h323_password``, ``pstn_password``, ``recording_play_passcode`` and
  ``start_url`` (a host's ``start_url`` starts the meeting as the host), at any depth, and the
  ``pwd=`` query parameter of join URLs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prefect_zoom.exceptions import WebhookRejectedError as Rejected
from prefect_zoom.exceptions import WebhookVerificationError
from prefect_zoom.webhooks.signature import (
    DEFAULT_TOLERANCE_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)

URL_VALIDATION_EVENT = "endpoint.url_validation"
SECRET_KEYS = frozenset(
    {
        "plainToken",
        "encryptedToken",
        "password",
        "encrypted_password",
        "h323_password",
        "pstn_password",
        "recording_play_passcode",
        "start_url",
    }
)
MAX_DEPTH = 64
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")
_PWD_PARAM = re.compile(r"([?&])pwd=[^&#]*&?")


# ---- verification ------------------------------------------------------------------------------
def verify_delivery(
    secret_token: str,
    headers: Mapping[str, str],
    raw: bytes,
    *,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check Zoom's signature of the raw body; raises :class:`Rejected` (401) when it fails."""
    try:
        verify(
            secret_token,
            headers.get(TIMESTAMP_HEADER),
            headers.get(SIGNATURE_HEADER),
            raw,
            now=now,
            tolerance_seconds=tolerance_seconds,
        )
    except WebhookVerificationError as error:
        raise Rejected(401, error.reason, str(error)) from None


def check_content_type(headers: Mapping[str, str]) -> None:
    """Raises :class:`Rejected` (415) unless the body is declared as JSON."""
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Rejected(415, "unsupported_media_type", "the body must be application/json")


# ---- parsing -----------------------------------------------------------------------------------
def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no ``NaN``/``Infinity``; raises :class:`Rejected` (400) otherwise."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError, digits
        raise Rejected(400, "malformed_json", f"the body is not UTF-8 JSON: {error}") from None


def is_int(value: object) -> bool:
    """An ``int`` that is not a ``bool`` (JSON numbers without a fraction)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Envelope:
    """A validated Zoom webhook envelope."""

    event: str
    event_ts: int | None
    payload: dict[str, Any]
    download_token: str | None

    @property
    def object(self) -> dict[str, Any]:
        """``payload.object`` (``{}`` when absent)."""
        found = self.payload.get("object")
        return found if isinstance(found, dict) else {}

    @property
    def account_id(self) -> str | None:
        """``payload.account_id`` when it is a non-empty string."""
        found = self.payload.get("account_id")
        return found if isinstance(found, str) and found else None

    def object_key(self) -> str:
        """The object's ``uuid`` or ``id`` as text ("" when it has neither)."""
        obj = self.object
        for name in ("uuid", "id"):
            value = obj.get(name)
            if isinstance(value, str) and value:
                return value
            if is_int(value):
                return str(value)
        return ""


def parse_envelope(body: Any) -> Envelope:
    """Check the shape of Zoom's envelope; raise :class:`Rejected` (422) when it is not one."""
    if not isinstance(body, dict):
        raise Rejected(422, "invalid_envelope", "the body must be a JSON object")
    event = body.get("event")
    if not isinstance(event, str) or len(event) > 128 or not _EVENT_NAME.match(event):
        raise Rejected(422, "invalid_envelope", "`event` must be a dotted event name")
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise Rejected(422, "invalid_envelope", "`payload` must be an object")
    event_ts = body.get("event_ts")
    if event == URL_VALIDATION_EVENT:
        token = payload.get("plainToken")
        if not isinstance(token, str) or not token or len(token) > 256:
            raise Rejected(422, "invalid_envelope", "`payload.plainToken` must be a short string")
        return Envelope(event, event_ts if is_int(event_ts) else None, payload, None)
    if not isinstance(event_ts, int) or isinstance(event_ts, bool) or not 0 < event_ts < 10**14:
        raise Rejected(422, "invalid_envelope", "`event_ts` must be milliseconds since the epoch")
    if "account_id" in payload and not isinstance(payload["account_id"], str):
        raise Rejected(422, "invalid_envelope", "`payload.account_id` must be a string")
    if "object" in payload and not isinstance(payload["object"], dict):
        raise Rejected(422, "invalid_envelope", "`payload.object` must be an object")
    token = body.get("download_token")
    if token is not None and not isinstance(token, str):
        raise Rejected(422, "invalid_envelope", "`download_token` must be a string")
    return Envelope(event, event_ts, payload, token)


# ---- secrets -----------------------------------------------------------------------------------
def scrub(value: Any, strip_keys: frozenset[str] = SECRET_KEYS, depth: int = 0) -> Any:
    """A copy of a JSON value without secret keys (at any depth) and ``pwd=`` URL parameters.

    Raises :class:`Rejected` (422) for nesting deeper than ``MAX_DEPTH`` or strings that are not
    valid Unicode (lone surrogates), which Prefect could not store.
    """
    if depth > MAX_DEPTH:
        raise Rejected(422, "too_deep", f"the payload nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {
            _checked_text(key): scrub(item, strip_keys, depth + 1)
            for key, item in value.items()
            if key not in strip_keys
        }
    if isinstance(value, list):
        return [scrub(item, strip_keys, depth + 1) for item in value]
    if isinstance(value, str):
        text = _checked_text(value)
        is_url = text.startswith(("http://", "https://")) and "pwd=" in text
        return _PWD_PARAM.sub(_drop_pwd, text) if is_url else text
    if isinstance(value, float) and not math.isfinite(value):
        raise Rejected(422, "invalid_number", "the payload holds a non-finite number")
    return value


def _drop_pwd(match: re.Match[str]) -> str:
    separator = match.group(1)
    return separator if match.group(0).endswith("&") else ""


def _checked_text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected(422, "invalid_text", "the payload holds invalid Unicode text") from None
    return text


__all__ = [
    "MAX_DEPTH",
    "SECRET_KEYS",
    "URL_VALIDATION_EVENT",
    "Envelope",
    "check_content_type",
    "parse_envelope",
    "parse_json",
    "scrub",
    "verify_delivery",
]
