"""prefect-zoom blocks: Zoom connections."""

from prefect_zoom.blocks.oauth import ZoomOAuthCredentials
from prefect_zoom.blocks.s2s import ZoomServerToServerCredentials

__all__ = ["ZoomOAuthCredentials", "ZoomServerToServerCredentials"]
