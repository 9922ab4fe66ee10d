"""Zoom webhooks into Prefect: verify Zoom's signatures and emit each event as a Prefect event.

Run the receiver with ``prefect-zoom webhook serve`` or build it in Python::

    from prefect_zoom.webhooks import create_receiver_app

    app = create_receiver_app(secret_token)  # POST /zoom/webhook, GET /health

See ``docs/webhooks.md``.
"""

from prefect_zoom.webhooks.receiver import (
    SECRET_KEYS,
    WEBHOOK_PATH,
    WebhookReceiver,
    create_receiver_app,
    prefect_event,
)
from prefect_zoom.webhooks.signature import (
    BadSignatureError,
    FutureTimestampError,
    InvalidTimestampError,
    MissingHeaderError,
    StaleTimestampError,
    WebhookVerificationError,
    sign,
    url_validation_answer,
    verify,
)

__all__ = [
    "SECRET_KEYS",
    "WEBHOOK_PATH",
    "BadSignatureError",
    "FutureTimestampError",
    "InvalidTimestampError",
    "MissingHeaderError",
    "StaleTimestampError",
    "WebhookReceiver",
    "WebhookVerificationError",
    "create_receiver_app",
    "prefect_event",
    "sign",
    "url_validation_answer",
    "verify",
]
