"""Zoom webhooks into Prefect: verify Zoom's signatures and emit each event as a Prefect event.

Run the receiver with ``prefect-zoom webhook serve`` or build it in Python::

    from prefect_zoom.webhooks import create_receiver_app

    app = create_receiver_app(secret_token, spool="zoom-spool.sqlite3")  # POST /zoom/webhook

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
from prefect_zoom.webhooks.spool import Spool, SpoolError, default_spool_path

__all__ = [
    "SECRET_KEYS",
    "WEBHOOK_PATH",
    "BadSignatureError",
    "FutureTimestampError",
    "InvalidTimestampError",
    "MissingHeaderError",
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
