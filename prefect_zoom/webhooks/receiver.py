"""An HTTP endpoint for Zoom webhooks that turns each verified event into a Prefect event.

``create_receiver_app(secret_token, spool=path)`` builds a FastAPI app with:

* ``POST /zoom/webhook`` (and ``POST /``): the URL to register in the Zoom Marketplace.
* ``GET /health``: counts of received, accepted, rejected, duplicate and emitted deliveries,
  and the events still waiting for Prefect.

What a delivery goes through, in order (the first failure answers 4xx and nothing is stored):

1. Size and time: a ``Content-Length`` or a streamed body over ``max_body_bytes`` (1 MiB) → 413;
   a body that has not fully arrived ``body_timeout`` (10 s) after the headers → 408, and the
   connection is closed, so a slow sender cannot hold it open.
2. Signature: ``x-zm-signature`` over the **raw** body bytes and ``x-zm-request-timestamp``
   (at most 5 minutes off) → 401 when missing, stale, from the future or wrong. Zoom signs the
   ``endpoint.url_validation`` challenge too, so the challenge is verified like any event: an
   attacker without the secret token cannot even learn whether the endpoint exists.
3. Content: ``Content-Type`` must be JSON (415); the body must be UTF-8 JSON (400) shaped like
   Zoom's envelope ``{"event", "event_ts", "payload": {"account_id", "object"}}`` and make an
   event Prefect can store (422).
4. ``endpoint.url_validation`` is answered at once with
   ``{"plainToken", "encryptedToken": hex(HMAC_SHA256(secret_token, plainToken))}``.
5. Duplicates (Zoom retries when it does not get a 2xx within 3 seconds, and may deliver twice)
   answer 200 without storing again. A delivery is a duplicate when the SHA-256 of its raw body,
   or its ``x-zm-trackingid`` / ``x-zm-request-id`` header, belongs to an event still in the
   spool or among the last ``dedupe_size`` delivered ones (the spool keeps them, so this holds
   across restarts). Distinct events have distinct bodies, so they are never merged. The
   Prefect event id is derived from the body's hash too: a retry, a replica or a re-send after a
   crash gives Prefect the same id, and Prefect stores one event per id.
6. Everything else is written to the :class:`~prefect_zoom.webhooks.spool.Spool` (SQLite, WAL,
   ``synchronous=FULL``) and answered 200 **after** the write and **before** any Prefect work.
   When the spool cannot be written, or ``queue_size`` events already wait in it, the answer is
   503 with ``Retry-After`` so that Zoom retries later. A delivery thread
   (:mod:`prefect_zoom.webhooks.delivery`) hands the spooled events to Prefect, oldest first,
   retrying until Prefect accepts each one; what is left at shutdown or after a crash is
   delivered by the next receiver started on the same spool.

The Prefect event::

    event    = "zoom.<zoom event>"                    e.g. "zoom.recording.completed"
    resource = {"prefect.resource.id": "zoom.meeting.<uuid or id>",   (meeting.*, recording.*,
                "prefect.resource.name": <topic>, "zoom.account-id": …,    webinar.*)
                "zoom.meeting-id": …, "zoom.meeting-uuid": …, "zoom.host-id": …, "zoom.event": …}
               "zoom.user.<id>" for user.* events, "zoom.account.<id>" for anything else
    related  = [{"prefect.resource.id": "zoom.account.<account_id>", "prefect.resource.role": "account"},
                {"prefect.resource.id": "zoom.user.<host_id>", "prefect.resource.role": "host"}]
    payload  = Zoom's ``payload`` (``account_id``, ``object``, …) minus secrets, plus
               ``event_ts`` and the envelope's ``download_token`` when present
    occurred = event_ts

Secrets: the payload loses every ``plainToken``, ``encryptedToken``, ``password``,
``encrypted_password``, ``h323_password``, ``pstn_password``, ``recording_play_passcode`` and
``start_url`` (a host's ``start_url`` starts the meeting as the host), at any depth, and the
``pwd=`` query parameter of join URLs. The ``download_token`` of ``recording.completed`` is
**kept** on purpose: it is short-lived (24 hours), read-only, limited to that meeting's
recording files, and it is what a deployment triggered by the event needs to download them
without any other credential. Anyone who can read your Prefect events can use it until it
expires; if that is not acceptable, drop it with ``strip_keys`` and download with the
connection block's own token instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from prefect_zoom.exceptions import WebhookRejectedError as Rejected
from prefect_zoom.webhooks.delivery import Deliverer, Emit, PrefectEventSender, event_to_json
from prefect_zoom.webhooks.signature import (
    DEFAULT_TOLERANCE_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookVerificationError,
    url_validation_answer,
    verify,
)
from prefect_zoom.webhooks.spool import Spool, SpoolError, SpoolFullError

logger = logging.getLogger("prefect_zoom.webhooks")

WEBHOOK_PATH = "/zoom/webhook"
URL_VALIDATION_EVENT = "endpoint.url_validation"
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_DEDUPE_SIZE = 10_000
DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_BODY_TIMEOUT = 10.0
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
DELIVERY_ID_HEADERS = ("x-zm-trackingid", "x-zm-request-id")
MEETING_EVENT_FAMILIES = ("meeting", "recording", "webinar")
MAX_DEPTH = 64
MAX_LABEL_CHARS = 256
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")
_PWD_PARAM = re.compile(r"([?&])pwd=[^&#]*&?")
_ID_NAMESPACE = uuid.UUID("5b0c6a1e-5f3e-4d0b-9a55-7a6f6d7a6f6d")


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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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


@dataclass(frozen=True)
class Envelope:
    """A validated Zoom webhook envelope."""

    event: str
    event_ts: int | None
    payload: dict[str, Any]
    download_token: str | None

    @property
    def object(self) -> dict[str, Any]:
        found = self.payload.get("object")
        return found if isinstance(found, dict) else {}

    @property
    def account_id(self) -> str | None:
        found = self.payload.get("account_id")
        return found if isinstance(found, str) and found else None

    def object_key(self) -> str:
        """The object's ``uuid`` or ``id`` as text ("" when it has neither)."""
        obj = self.object
        for name in ("uuid", "id"):
            value = obj.get(name)
            if isinstance(value, str) and value:
                return value
            if _is_int(value):
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
        return Envelope(event, event_ts if _is_int(event_ts) else None, payload, None)
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


# ---- the Prefect event ---------------------------------------------------------------------------
def _label(value: object) -> str | None:
    if isinstance(value, str) and value:
        return value[:MAX_LABEL_CHARS]
    if _is_int(value):
        return str(value)
    return None


def prefect_event(
    envelope: Envelope,
    strip_keys: frozenset[str] = SECRET_KEYS,
    prefect_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``emit_event`` for one Zoom event (see the module docstring).

    ``prefect_id`` is the Prefect event id; the receiver passes :func:`event_id` of the raw body
    (a random id when omitted).
    """
    obj = envelope.object
    account_id = envelope.account_id
    family = envelope.event.split(".", 1)[0]
    object_key = _label(envelope.object_key())
    if family in MEETING_EVENT_FAMILIES and object_key:
        resource_id = f"zoom.meeting.{object_key}"
    elif family == "user" and _label(obj.get("id")):
        resource_id = f"zoom.user.{_label(obj.get('id'))}"
    else:
        resource_id = f"zoom.account.{account_id or 'unknown'}"
    resource: dict[str, str] = {"prefect.resource.id": resource_id, "zoom.event": envelope.event}
    labels = {
        "prefect.resource.name": obj.get("topic") if family != "user" else obj.get("email"),
        "zoom.account-id": account_id,
        "zoom.meeting-id": obj.get("id") if family in MEETING_EVENT_FAMILIES else None,
        "zoom.meeting-uuid": obj.get("uuid") if family in MEETING_EVENT_FAMILIES else None,
        "zoom.host-id": obj.get("host_id"),
    }
    for name, value in labels.items():
        text = _label(value)
        if text is not None:
            resource[name] = text
    related: list[dict[str, str]] = []
    if account_id and resource_id != f"zoom.account.{account_id}":
        related.append(
            {
                "prefect.resource.id": f"zoom.account.{account_id}",
                "prefect.resource.role": "account",
            }
        )
    host = _label(obj.get("host_id"))
    if host and resource_id != f"zoom.user.{host}":
        related.append(
            {"prefect.resource.id": f"zoom.user.{host}", "prefect.resource.role": "host"}
        )
    payload = scrub(envelope.payload, strip_keys)
    payload["event_ts"] = envelope.event_ts
    if envelope.download_token is not None and "download_token" not in strip_keys:
        payload["download_token"] = envelope.download_token
    occurred = datetime.fromtimestamp((envelope.event_ts or 0) / 1000, tz=UTC)
    return {
        "event": f"zoom.{envelope.event}",
        "resource": resource,
        "related": related,
        "payload": payload,
        "occurred": occurred,
        "id": prefect_id or uuid.uuid4(),
    }


def checked_event(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` if Prefect can store it as an ``Event``; raises :class:`Rejected` (422) if not,
    before anything is spooled or acknowledged."""
    from prefect.events import Event
    from pydantic import ValidationError

    try:
        Event(**event)
    except (ValidationError, ValueError) as error:
        reason = f"Prefect cannot store this event: {str(error).splitlines()[0]}"
        raise Rejected(422, "invalid_event", reason) from None
    return event


# ---- bookkeeping ---------------------------------------------------------------------------------
class _Stats:
    """Thread-safe counters (the event loop and the delivery thread both write)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()

    def add(self, name: str, reason: str | None = None) -> None:
        with self._lock:
            self.counts[name] += 1
            if reason is not None:
                self.reasons[reason] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                **{k: self.counts[k] for k in _COUNT_NAMES},
                "rejected_by_reason": dict(self.reasons),
            }


_COUNT_NAMES = (
    "received",
    "accepted",
    "rejected",
    "duplicates",
    "url_validations",
    "emitted",
    "emit_failed",
    "emit_refused",
)


def body_digest(raw: bytes) -> str:
    """The SHA-256 of a delivery's raw (signed) body: its identity for dedupe and event ids."""
    return hashlib.sha256(raw).hexdigest()


def event_id(raw: bytes) -> uuid.UUID:
    """The Prefect event id of a delivery: the same body always gets the same id."""
    return uuid.uuid5(_ID_NAMESPACE, body_digest(raw))


def delivery_keys(headers: Mapping[str, str], raw: bytes) -> list[str]:
    """What makes two deliveries the same: the raw body's hash, and Zoom's per-event tracking
    id (``x-zm-trackingid``, the same on Zoom's retries) or request id when present."""
    keys = [f"body:{body_digest(raw)}"]
    for name in DELIVERY_ID_HEADERS:
        value = headers.get(name)
        if value:
            keys.append(f"{name}:{value[:200]}")
    return keys


# ---- the receiver ----------------------------------------------------------------------------------
class WebhookReceiver:
    """Verifies, deduplicates and spools Zoom webhook deliveries. See the module docstring."""

    def __init__(
        self,
        secret_token: str,
        *,
        emit: Emit | None = None,
        spool: Spool | str | os.PathLike[str] | None = None,
        dedupe_size: int = DEFAULT_DEDUPE_SIZE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        strip_keys: Iterable[str] = SECRET_KEYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret_token:
            raise ValueError("a Zoom webhook secret token is required")
        self._secret = secret_token
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.tolerance_seconds = tolerance_seconds
        self.strip_keys = frozenset(strip_keys)
        self._clock = clock
        self.stats = _Stats()
        if isinstance(spool, Spool):
            self.spool = spool
        elif spool is None:
            self.spool = Spool.temporary(max_pending=queue_size, keep_done=dedupe_size)
        else:
            self.spool = Spool(spool, max_pending=queue_size, keep_done=dedupe_size)
        self._deliverer = Deliverer(self.spool, emit or PrefectEventSender(), self.stats.add)
        if self.spool.pending_count():  # spooled by an earlier run: deliver them now
            self._deliverer.wake()

    def __repr__(self) -> str:  # never show the secret token
        return f"{type(self).__name__}(spool={str(self.spool.path)!r})"

    def health(self) -> dict[str, Any]:
        """Counts of what happened so far, plus the spooled events Prefect has not taken yet."""
        try:
            pending: int | None = self.spool.pending_count()
            last_error = self.spool.last_error() if pending else None
            status = "ok"
        except SpoolError:
            pending, last_error, status = None, None, "spool_unavailable"
        return {
            "status": status,
            **self.stats.snapshot(),
            "pending": pending,
            "last_emit_error": last_error,
        }

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until Prefect has every spooled event; ``False`` on timeout."""
        return self._deliverer.drain(timeout)

    def close(self, timeout: float | None = 5.0) -> None:
        """Deliver what Prefect takes within ``timeout``, stop the delivery thread, close the
        spool (what is left in it is delivered by the next receiver on the same spool)."""
        self._deliverer.close(timeout)
        self.spool.close()

    async def read_body(self, request: Request) -> bytes:
        """The raw body, refused beyond ``max_body_bytes`` (413) or ``body_timeout`` (408)."""
        length = request.headers.get("content-length")
        if length is not None:
            if not (length.isascii() and length.isdigit()):
                raise Rejected(400, "bad_content_length", "Content-Length is not a number")
            if int(length) > self.max_body_bytes:
                raise Rejected(413, "too_large", f"the body exceeds {self.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        raise Rejected(
                            413, "too_large", f"the body exceeds {self.max_body_bytes} bytes"
                        )
                    chunks.append(chunk)
        except TimeoutError:
            raise Rejected(
                408, "body_timeout", f"the body did not arrive within {self.body_timeout:g} s"
            ) from None
        return b"".join(chunks)

    def _verify(self, headers: Mapping[str, str], raw: bytes) -> None:
        try:
            verify(
                self._secret,
                headers.get(TIMESTAMP_HEADER),
                headers.get(SIGNATURE_HEADER),
                raw,
                now=self._clock(),
                tolerance_seconds=self.tolerance_seconds,
            )
        except WebhookVerificationError as error:
            raise Rejected(401, error.reason, str(error)) from None

    @staticmethod
    def _check_content_type(headers: Mapping[str, str]) -> None:
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise Rejected(415, "unsupported_media_type", "the body must be application/json")

    def _spool(self, keys: list[str], event: str) -> bool:
        try:
            added = self.spool.add(keys, event)
        except SpoolFullError as error:
            raise Rejected(503, "busy", str(error)) from None
        except SpoolError as error:
            logger.error("cannot spool a Zoom event (answering 503): %s", error)
            raise Rejected(503, "spool_unavailable", "the receiver cannot store events") from None
        if added:
            self._deliverer.wake()
        return added

    async def handle(self, request: Request) -> Response:
        """Answer one delivery (see the module docstring for the steps)."""
        self.stats.add("received")
        try:
            raw = await self.read_body(request)
            self._verify(request.headers, raw)
            self._check_content_type(request.headers)
            envelope = parse_envelope(parse_json(raw))
            if envelope.event == URL_VALIDATION_EVENT:
                self.stats.add("url_validations")
                answer = url_validation_answer(self._secret, envelope.payload["plainToken"])
                return JSONResponse(answer)
            event = prefect_event(envelope, self.strip_keys, event_id(raw))
            spooled = event_to_json(checked_event(event))
            keys = delivery_keys(request.headers, raw)
            if not await asyncio.to_thread(self._spool, keys, spooled):
                self.stats.add("duplicates")
                return JSONResponse({"status": "duplicate"})
        except Rejected as rejected:
            self.stats.add("rejected", rejected.reason)
            logger.info("rejected a Zoom webhook delivery: %s", rejected.message)
            headers = {"Retry-After": "60"} if rejected.status == 503 else {}
            if rejected.status in (408, 413):  # the rest of the body is not read: hang up
                headers["Connection"] = "close"
            return JSONResponse(
                {"error": rejected.reason, "message": rejected.message},
                status_code=rejected.status,
                headers=headers,
            )
        self.stats.add("accepted")
        return JSONResponse({"status": "accepted"})


def create_receiver_app(
    secret_token: str,
    *,
    emit: Emit | None = None,
    spool: Spool | str | os.PathLike[str] | None = None,
    dedupe_size: int = DEFAULT_DEDUPE_SIZE,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    strip_keys: Iterable[str] = SECRET_KEYS,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """A FastAPI app receiving Zoom webhooks at ``/zoom/webhook`` (and ``/``).

    ``spool`` is the file of the durable queue (a :class:`Spool` or a path); without one the
    spool is a temporary file that dies with the app, so pass a path for anything that matters
    (``prefect-zoom webhook serve`` always does). ``emit`` defaults to
    :class:`~prefect_zoom.webhooks.delivery.PrefectEventSender` (``POST /events`` of the current
    Prefect API). The :class:`WebhookReceiver` is at ``app.state.receiver`` (``drain()`` waits
    until Prefect has every spooled event, ``health()`` counts).
    """
    receiver = WebhookReceiver(
        secret_token,
        emit=emit,
        spool=spool,
        dedupe_size=dedupe_size,
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
        tolerance_seconds=tolerance_seconds,
        queue_size=queue_size,
        strip_keys=strip_keys,
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        receiver.close()

    app = FastAPI(
        title="prefect-zoom webhook receiver",
        description="Receives Zoom webhooks and emits them as Prefect events.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.receiver = receiver

    async def webhook(request: Request) -> Response:
        return await receiver.handle(request)

    async def health() -> dict[str, Any]:
        return receiver.health()

    app.add_api_route(WEBHOOK_PATH, webhook, methods=["POST"], include_in_schema=False)
    app.add_api_route("/", webhook, methods=["POST"], include_in_schema=False)
    app.add_api_route("/health", health, methods=["GET"])
    return app


__all__ = [
    "SECRET_KEYS",
    "URL_VALIDATION_EVENT",
    "WEBHOOK_PATH",
    "Emit",
    "Envelope",
    "Rejected",
    "WebhookReceiver",
    "body_digest",
    "checked_event",
    "create_receiver_app",
    "delivery_keys",
    "event_id",
    "parse_envelope",
    "prefect_event",
    "scrub",
]
