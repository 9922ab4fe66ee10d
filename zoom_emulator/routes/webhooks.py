"""The emulator sends signed webhooks, as Zoom's Event Subscriptions do.

Control routes (under ``/_emulator``):

* ``PUT /webhook`` ``{"url", "secret_token"?, "retry_delays"?}``: subscribe. Like saving an
  endpoint in the Zoom Marketplace, this first sends an ``endpoint.url_validation`` challenge
  and only subscribes if the answer is 200 ``{"plainToken", "encryptedToken"}`` with the right
  HMAC; otherwise 400 code 300 says why (unreachable, timeout, status, body, wrong token).
* ``GET /webhook``: the subscription (never the secret token); ``DELETE /webhook``: unsubscribe.
* ``POST /webhook/validate``: send the challenge again (Zoom re-validates every 72 hours).
* ``POST /webhook/send`` ``{"event", "object", "account_id"?}``: send any event now.
* ``GET /webhook/deliveries?wait=SECONDS``: every delivery with its attempts; ``wait`` first
  waits (at most that long) for deliveries still in flight.

Adding a recording with ``POST /_emulator/recordings`` while subscribed sends
``recording.completed`` with the recording as the REST API lists it (absolute ``download_url``s
of this emulator) and a ``download_token`` that downloads that meeting's files for 24 hours.
A recording added with ``processing_file_types`` sends it only when
``POST /_emulator/recordings/{uuid}/complete`` finishes processing, as Zoom does. Holding a
meeting with ``POST /_emulator/past_meetings`` sends ``meeting.ended`` with the instance (``id``
as a string, ``uuid``, ``host_id``, ``topic``, ``type``, ``start_time``, ``end_time``,
``timezone``, ``duration``), as Zoom does when a meeting ends.

Every request carries ``x-zm-request-timestamp`` (seconds), ``x-zm-signature``
(``v0=HMAC_SHA256(secret_token, "v0:{timestamp}:{body}")``), ``x-zm-trackingid`` (one per event,
the same on retries) and ``Content-Type: application/json; charset=utf-8``. Deliveries run in
background tasks with a 3-second timeout; anything but a 2xx is retried after each of the
subscription's ``retry_delays`` (seconds; Zoom uses 5, 20 and 60 minutes; default: no retry).
Counters: ``webhook <status>``, ``webhook timeout``, ``webhook error``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from zoom_emulator.models.downloads import issue_download_token
from zoom_emulator.models.errors import ZoomError
from zoom_emulator.models.past_meetings import HeldMeeting, ended_object
from zoom_emulator.models.recordings import meeting_json
from zoom_emulator.models.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    encrypted_token,
    signature,
)
from zoom_emulator.models.state import EmulatorState, RecordingMeeting, utcnow, zoom_time
from zoom_emulator.routes.auth import state_of

router = APIRouter(tags=["emulator webhooks"])

DELIVERY_TIMEOUT = 3.0
MAX_DELIVERIES = 1000
USER_AGENT = "Zoom Marketplace/1.0a"
URL_VALIDATION_EVENT = "endpoint.url_validation"


@dataclass
class Attempt:
    """One POST of a delivery."""

    at: str
    status: int | None
    error: str | None
    elapsed_ms: int


@dataclass
class Delivery:
    """One event sent (or being sent) to the subscribed URL."""

    id: str
    event: str
    url: str
    tracking_id: str
    attempts: list[Attempt] = field(default_factory=list)
    delivered: bool = False
    done: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class WebhookSender:
    """Signs and posts webhooks for one emulator; keeps the last deliveries."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.retry_delays: tuple[float, ...] = ()
        self.deliveries: deque[Delivery] = deque(maxlen=MAX_DELIVERIES)
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- the subscription --------------------------------------------------------------------
    @property
    def url(self) -> str | None:
        return self.state.config.webhook_url

    @property
    def secret_token(self) -> str:
        return self.state.config.webhook_secret_token

    # ---- sending -----------------------------------------------------------------------------
    def envelope(self, event: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Zoom's envelope: ``{"event", "event_ts" (ms), "payload", …}``."""
        return {"event": event, "event_ts": int(time.time() * 1000), "payload": payload, **extra}

    async def post(
        self, url: str, secret_token: str, body: dict[str, Any], delivery: Delivery
    ) -> httpx.Response | None:
        """One signed POST, recorded as an attempt; ``None`` when it got no answer."""
        raw = json.dumps(body, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "content-type": "application/json; charset=utf-8",
            "user-agent": USER_AGENT,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret_token, timestamp, raw),
            "x-zm-trackingid": delivery.tracking_id,
        }
        started = time.monotonic()
        response: httpx.Response | None = None
        error: str | None = None
        try:
            async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT) as client:
                response = await client.post(url, content=raw, headers=headers)
        except httpx.TimeoutException:
            error = f"no answer within {DELIVERY_TIMEOUT:g} seconds"
            self.state.counters["webhook timeout"] += 1
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
            self.state.counters["webhook error"] += 1
        if response is not None:
            self.state.counters[f"webhook {response.status_code}"] += 1
        delivery.attempts.append(
            Attempt(
                at=zoom_time(utcnow()),
                status=response.status_code if response is not None else None,
                error=error,
                elapsed_ms=int((time.monotonic() - started) * 1000),
            )
        )
        return response

    def _new_delivery(self, event: str, url: str) -> Delivery:
        delivery = Delivery(
            id=uuid.uuid4().hex,
            event=event,
            url=url,
            tracking_id=f"v=2.0;clid=us06;rid=WEBHOOK_{uuid.uuid4().hex}",
        )
        self.deliveries.append(delivery)
        return delivery

    def dispatch(self, event: str, payload: dict[str, Any], **extra: Any) -> Delivery | None:
        """Send an event in the background; ``None`` when nothing is subscribed."""
        url = self.url
        if not url:
            return None
        delivery = self._new_delivery(event, url)
        body = self.envelope(event, payload, **extra)
        task = asyncio.get_running_loop().create_task(
            self._deliver(url, self.secret_token, body, delivery, self.retry_delays)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def _deliver(
        self,
        url: str,
        secret_token: str,
        body: dict[str, Any],
        delivery: Delivery,
        retry_delays: tuple[float, ...],
    ) -> None:
        try:
            for delay in (0.0, *retry_delays):
                if delay:
                    await asyncio.sleep(delay)  # Zoom's retry schedule, not a race workaround
                response = await self.post(url, secret_token, body, delivery)
                if response is not None and response.is_success:
                    delivery.delivered = True
                    return
        finally:
            delivery.done = True

    async def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for deliveries in flight; return how many remain."""
        pending = set(self._tasks)
        if pending and timeout > 0:
            await asyncio.wait(pending, timeout=timeout)
        return sum(1 for task in self._tasks if not task.done())

    # ---- URL validation ----------------------------------------------------------------------
    async def validate(self, url: str, secret_token: str) -> Delivery:
        """Send the ``endpoint.url_validation`` challenge; raise 400 with the reason if it fails."""
        plain_token = secrets.token_urlsafe(16)
        delivery = self._new_delivery(URL_VALIDATION_EVENT, url)
        body = self.envelope(URL_VALIDATION_EVENT, {"plainToken": plain_token})
        try:
            response = await self.post(url, secret_token, body, delivery)
        finally:
            delivery.done = True
        if response is None:
            raise _validation_failed(url, delivery.attempts[-1].error or "no answer")
        if response.status_code != 200:
            raise _validation_failed(url, f"the endpoint answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise _validation_failed(url, "the answer is not JSON") from None
        if not isinstance(answer, dict) or answer.get("plainToken") != plain_token:
            raise _validation_failed(url, "the answer does not echo the plainToken")
        if answer.get("encryptedToken") != encrypted_token(secret_token, plain_token):
            raise _validation_failed(
                url,
                "the encryptedToken is wrong: is the endpoint using this app's secret token?",
            )
        delivery.delivered = True
        return delivery


def _validation_failed(url: str, why: str) -> ZoomError:
    return ZoomError(400, 300, f"URL validation failed for {url}: {why}.")


def sender_of(request: Request) -> WebhookSender:
    """The app's sender, made on first use."""
    sender = getattr(request.app.state, "webhook_sender", None)
    if not isinstance(sender, WebhookSender):
        sender = WebhookSender(state_of(request))
        request.app.state.webhook_sender = sender
    return sender


def recording_object(
    state: EmulatorState, recording: RecordingMeeting, base_url: str
) -> dict[str, Any]:
    """The ``payload.object`` of ``recording.completed``: the meeting as REST lists it, and more."""
    host = state.users.get(recording.host_id)
    files = [f for f in recording.files if not f.deleted]
    obj = meeting_json(recording, files, base_url, host_email=host.email if host else None)
    obj["password"] = recording.password
    obj["recording_play_passcode"] = hashlib.sha256(f"play:{recording.uuid}".encode()).hexdigest()
    return obj


def recording_completed(request: Request, recording: RecordingMeeting) -> Delivery | None:
    """Send ``recording.completed`` for a new recording when a webhook is subscribed."""
    sender = sender_of(request)
    if not sender.url:
        return None
    state = sender.state
    base_url = str(request.base_url).rstrip("/")
    token = issue_download_token(state, recording.account_id, recording.uuid)
    payload = {
        "account_id": recording.account_id,
        "object": recording_object(state, recording, base_url),
    }
    return sender.dispatch("recording.completed", payload, download_token=token.value)


def meeting_ended(request: Request, held: HeldMeeting) -> Delivery | None:
    """Send ``meeting.ended`` for a meeting instance that was held, when a webhook is subscribed."""
    sender = sender_of(request)
    if not sender.url:
        return None
    payload = {"account_id": held.account_id, "object": ended_object(sender.state, held)}
    return sender.dispatch("meeting.ended", payload)


# ---- control routes -------------------------------------------------------------------------------
class WebhookSubscription(BaseModel):
    url: str = Field(description="The event notification endpoint URL (http or https).")
    secret_token: str | None = Field(None, description="Default: the config's secret token.")
    retry_delays: list[float] = Field(
        default_factory=list,
        max_length=5,
        description="Seconds before each retry of a failed delivery (Zoom: 300, 1200, 3600).",
    )


class WebhookEvent(BaseModel):
    event: str = Field(description="Zoom event name, e.g. `meeting.created`.")
    object: dict[str, Any] = Field(default_factory=dict)
    account_id: str | None = Field(None, description="Default: the emulator's account.")


def _describe(sender: WebhookSender) -> dict[str, Any]:
    return {
        "url": sender.url,
        "subscribed": bool(sender.url),
        "retry_delays": list(sender.retry_delays),
    }


@router.get("/webhook")
async def get_subscription(request: Request) -> dict[str, Any]:
    """The subscribed URL (the secret token is never shown)."""
    return _describe(sender_of(request))


@router.put("/webhook")
async def subscribe(request: Request, subscription: WebhookSubscription) -> dict[str, Any]:
    """Validate the URL with Zoom's challenge, then subscribe it (400 with the reason if not)."""
    sender = sender_of(request)
    if not subscription.url.startswith(("http://", "https://")):
        raise ZoomError(400, 300, "The endpoint URL must start with http:// or https://.")
    if any(delay < 0 or delay > 86_400 for delay in subscription.retry_delays):
        raise ZoomError(400, 300, "Retry delays must be between 0 and 86400 seconds.")
    secret_token = subscription.secret_token or sender.secret_token
    await sender.validate(subscription.url, secret_token)
    state = sender.state
    state.config = state.config.model_copy(
        update={"webhook_url": subscription.url, "webhook_secret_token": secret_token}
    )
    sender.retry_delays = tuple(subscription.retry_delays)
    return _describe(sender)


@router.delete("/webhook", status_code=204)
async def unsubscribe(request: Request) -> Response:
    """Stop sending webhooks."""
    state = state_of(request)
    state.config = state.config.model_copy(update={"webhook_url": None})
    return Response(status_code=204)


@router.post("/webhook/validate")
async def revalidate(request: Request) -> dict[str, Any]:
    """Send the URL validation challenge to the subscribed URL again."""
    sender = sender_of(request)
    if not sender.url:
        raise ZoomError(400, 300, "No webhook is subscribed: PUT /_emulator/webhook first.")
    delivery = await sender.validate(sender.url, sender.secret_token)
    return delivery.as_json()


@router.post("/webhook/send", status_code=202)
async def send_event(request: Request, event: WebhookEvent) -> dict[str, Any]:
    """Send any event (e.g. ``meeting.created`` with a meeting ``object``) in the background."""
    sender = sender_of(request)
    payload = {
        "account_id": event.account_id or sender.state.config.account_id,
        "object": event.object,
    }
    delivery = sender.dispatch(event.event, payload)
    if delivery is None:
        raise ZoomError(400, 300, "No webhook is subscribed: PUT /_emulator/webhook first.")
    return delivery.as_json()


@router.get("/webhook/deliveries")
async def list_deliveries(
    request: Request,
    wait: float = Query(0.0, ge=0, le=30, description="Seconds to wait for deliveries in flight."),
) -> dict[str, Any]:
    """Every delivery, oldest first, with its attempts and their statuses."""
    sender = sender_of(request)
    pending = await sender.wait(wait)
    return {"pending": pending, "deliveries": [d.as_json() for d in sender.deliveries]}
