"""prefect-zoom: Zoom connections, activities and flows for Prefect."""

from prefect_zoom._version import __version__
from prefect_zoom.blocks import ZoomOAuthCredentials, ZoomServerToServerCredentials
from prefect_zoom.client import AsyncZoomClient, ZoomClient, ZoomForeignHostError
from prefect_zoom.exceptions import (
    ConnectionLockTimeout,
    ZoomAPIError,
    ZoomAuthError,
    ZoomAuthorizeAgainError,
    ZoomDownloadError,
    ZoomError,
    ZoomInputError,
    ZoomMissingScopesError,
    ZoomNotFoundError,
    ZoomPreapprovalRequiredError,
    ZoomRateLimitError,
    ZoomServerError,
    ZoomValidationError,
)

__all__ = [
    "AsyncZoomClient",
    "ConnectionLockTimeout",
    "ZoomAPIError",
    "ZoomAuthError",
    "ZoomAuthorizeAgainError",
    "ZoomClient",
    "ZoomDownloadError",
    "ZoomError",
    "ZoomForeignHostError",
    "ZoomInputError",
    "ZoomMissingScopesError",
    "ZoomNotFoundError",
    "ZoomOAuthCredentials",
    "ZoomPreapprovalRequiredError",
    "ZoomRateLimitError",
    "ZoomServerError",
    "ZoomServerToServerCredentials",
    "ZoomValidationError",
    "__version__",
]
