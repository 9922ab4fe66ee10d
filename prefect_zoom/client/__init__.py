"""Zoom REST clients (sync and async) sharing one retry and error policy."""

from prefect_zoom.client.asyncio import AsyncZoomClient
from prefect_zoom.client.origins import ZoomForeignHostError
from prefect_zoom.client.policy import IDEMPOTENT_METHODS, RetryPolicy
from prefect_zoom.client.sync import ZoomClient

__all__ = [
    "IDEMPOTENT_METHODS",
    "AsyncZoomClient",
    "RetryPolicy",
    "ZoomClient",
    "ZoomForeignHostError",
]
