"""Zoom webhooks into Prefect: verify Zoom's signatures and emit each event as a Prefect event.

Run the receiver with ``prefect-zoom webhook serve`` or build it in Python::

    from prefect_zoom.webhooks import create_receiver_app

    app = create_receiver_app(secret_token, spool="zoom-spool.sqlite3")  # POST /zoom/webhook

One job per module: :mod:`~prefect_zoom.webhooks.signature` (Zoom's HMAC),
:mod:`~prefect_zoom.webhooks.envelope` (verify, parse, scrub), :mod:`~prefect_zoom.webhooks.events`
(the Prefect event, dedupe keys), :mod:`~prefect_zoom.webhooks.receiver` (the HTTP server),
:mod:`~prefect_zoom.webhooks.spool` and :mod:`~prefect_zoom.webhooks.delivery` (the durable queue
and the thread that empties it into Prefect). See ``docs/webhooks.md``.
"""

from prefect_zoom.exceptions import (
    BadSignatureError,
    FutureTimestampError,
    InvalidTimestampError,
    MissingHeaderError,
    StaleTimestampError,
    WebhookVerificationError,
)
from prefect_zoom.webhooks.envelope import SECRET_KEYS
from prefect_zoom.webhooks.events import prefect_event
from prefect_zoom.webhooks.receiver import (
    WEBHOOK_PATH,
    ReceiverSettings,
    WebhookReceiver,
    create_receiver_app,
)
from prefect_zoom.webhooks.signature import sign, url_validation_answer, verify
from prefect_zoom.webhooks.spool import Spool, SpoolError, default_spool_path

__all__ = [
    "SECRET_KEYS",
    "WEBHOOK_PATH",
    "BadSignatureError",
    "FutureTimestampError",
    "InvalidTimestampError",
    "MissingHeaderError",
    "ReceiverSettings",
    "Spool",
    "SpoolError",
    "StaleTimestampError",
    "WebhookReceiver",
    "WebhookVerificationError",
    "create_receiver_app",
    "default_spool_path",
    "prefect_event",
    "sign",
    "url_validation_answer",
    "verify",
]
