"""The HTTP side of the webhook receiver: a FastAPI app, its spool and its delivery thread.

``create_receiver_app(secret_token, spool=path)`` builds a FastAPI app with:

* ``POST /zoom/webhook`` (and ``POST /``): the URL to register in the Zoom Marketplace.
* ``GET /health``: counts of received, accepted, rejected, duplicate and emitted deliveries,
  and the events still waiting for Prefect.

What a delivery goes through, in order (the first failure answers 4xx and nothing is stored):

1. Size and time: a ``Content-Length`` or a streamed body over ``max_body_bytes`` (1 MiB) → 413;
   a body that has not fully arrived ``body_timeout`` (10 s) after the headers → 408, and the
   connection is closed, so a slow sender cannot hold it open.
2. Signature (401), content type (415), JSON (400) and envelope (422): see
   :mod:`prefect_zoom.webhooks.envelope`. Zoom signs the ``endpoint.url_validation`` challenge
   too, so the challenge is verified like any event: an attacker without the secret token cannot
   even learn whether the endpoint exists.
3. ``endpoint.url_validation`` is answered at once with
   ``{"plainToken", "encryptedToken": hex(HMAC_SHA256(secret_token, plainToken))}``.
4. The Prefect event is built (:mod:`prefect_zoom.webhooks.events`, secrets scrubbed) and must be
   one Prefect can store (422).
5. Duplicates answer 200 without storing again: a delivery whose keys
   (:func:`~prefect_zoom.webhooks.events.delivery_keys`) belong to an event still in the spool or
   among the last ``dedupe_size`` delivered ones (the spool keeps them, so this holds across
   restarts).
6. Everything else is written to the :class:`~prefect_zoom.webhooks.spool.Spool` (SQLite, WAL,
   ``synchronous=FULL``) and answered 200 **after** the write and **before** any Prefect work.
   When the spool cannot be written, or ``queue_size`` events already wait in it, the answer is
   503 with ``Retry-After`` so that Zoom retries later. A delivery thread
   (:mod:`prefect_zoom.webhooks.delivery`) hands the spooled events to Prefect, oldest first,
   retrying until Prefect accepts each one; what is left at shutdown or after a crash is
   delivered by the next receiver started on the same spool.

The tunables (sizes, timeouts, ``strip_keys``, the clock) are one frozen
:class:`ReceiverSettings`, passed to :func:`create_receiver_app` and :class:`WebhookReceiver`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from prefect_zoom.exceptions import WebhookRejectedError as Rejected
from prefect_zoom.webhooks.delivery import Deliverer, Emit, PrefectEventSender, event_to_json
from prefect_zoom.webhooks.envelope import (
    SECRET_KEYS,
    URL_VALIDATION_EVENT,
    check_content_type,
    parse_envelope,
    parse_json,
    verify_delivery,
)
from prefect_zoom.webhooks.events import checked_event, delivery_keys, event_id, prefect_event
from prefect_zoom.webhooks.signature import DEFAULT_TOLERANCE_SECONDS, url_validation_answer
from prefect_zoom.webhooks.spool import Spool, SpoolError, SpoolFullError

logger = logging.getLogger("prefect_zoom.webhooks")

WEBHOOK_PATH = "/zoom/webhook"
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_DEDUPE_SIZE = 10_000
DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_BODY_TIMEOUT = 10.0


@dataclass(frozen=True)
class ReceiverSettings:
    """How a receiver checks, keeps and forgets deliveries (the defaults suit Zoom)."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """A larger body is answered 413."""
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    """Seconds a sender may take to send the body after the headers (408 after that)."""
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS
    """How far ``x-zm-request-timestamp`` may be from the clock."""
    dedupe_size: int = DEFAULT_DEDUPE_SIZE
    """Delivered events remembered to recognise a duplicate."""
    queue_size: int = DEFAULT_QUEUE_SIZE
    """Events that may wait for Prefect before deliveries are answered 503."""
    strip_keys: frozenset[str] = SECRET_KEYS
    """Keys dropped from the payload at any depth (add ``download_token`` to drop it too)."""
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    """Seconds since the epoch, for the timestamp check."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "strip_keys", frozenset(self.strip_keys))


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


# ---- the receiver ----------------------------------------------------------------------------------
class WebhookReceiver:
    """Verifies, deduplicates and spools Zoom webhook deliveries. See the module docstring."""

    def __init__(
        self,
        secret_token: str,
        *,
        emit: Emit | None = None,
        spool: Spool | str | os.PathLike[str] | None = None,
        settings: ReceiverSettings = ReceiverSettings(),
    ) -> None:
        if not secret_token:
            raise ValueError("a Zoom webhook secret token is required")
        self._secret = secret_token
        self.settings = settings
        self.stats = _Stats()
        limits = {"max_pending": settings.queue_size, "keep_done": settings.dedupe_size}
        if isinstance(spool, Spool):
            self.spool = spool
        elif spool is None:
            self.spool = Spool.temporary(**limits)
        else:
            self.spool = Spool(spool, **limits)
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
        limit, timeout = self.settings.max_body_bytes, self.settings.body_timeout
        length = request.headers.get("content-length")
        if length is not None:
            if not (length.isascii() and length.isdigit()):
                raise Rejected(400, "bad_content_length", "Content-Length is not a number")
            if int(length) > limit:
                raise Rejected(413, "too_large", f"the body exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise Rejected(413, "too_large", f"the body exceeds {limit} bytes")
                    chunks.append(chunk)
        except TimeoutError:
            raise Rejected(
                408, "body_timeout", f"the body did not arrive within {timeout:g} s"
            ) from None
        return b"".join(chunks)

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
            settings = self.settings
            verify_delivery(
                self._secret,
                request.headers,
                raw,
                now=settings.clock(),
                tolerance_seconds=settings.tolerance_seconds,
            )
            check_content_type(request.headers)
            envelope = parse_envelope(parse_json(raw))
            if envelope.event == URL_VALIDATION_EVENT:
                self.stats.add("url_validations")
                answer = url_validation_answer(self._secret, envelope.payload["plainToken"])
                return JSONResponse(answer)
            event = prefect_event(envelope, settings.strip_keys, event_id(raw))
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
    settings: ReceiverSettings = ReceiverSettings(),
) -> FastAPI:
    """A FastAPI app receiving Zoom webhooks at ``/zoom/webhook`` (and ``/``).

    ``spool`` is the file of the durable queue (a :class:`Spool` or a path); without one the
    spool is a temporary file that dies with the app, so pass a path for anything that matters
    (``prefect-zoom webhook serve`` always does). ``emit`` defaults to
    :class:`~prefect_zoom.webhooks.delivery.PrefectEventSender` (``POST /events`` of the current
    Prefect API); ``settings`` holds the limits and ``strip_keys``. The :class:`WebhookReceiver`
    is at ``app.state.receiver`` (``drain()`` waits until Prefect has every spooled event,
    ``health()`` counts).
    """
    receiver = WebhookReceiver(secret_token, emit=emit, spool=spool, settings=settings)

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
    "WEBHOOK_PATH",
    "Emit",
    "ReceiverSettings",
    "Rejected",
    "WebhookReceiver",
    "create_receiver_app",
]
