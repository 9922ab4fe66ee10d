"""Defaults every HTTP client of the pack shares: where Zoom is, who is calling, how long to wait."""

from __future__ import annotations

import httpx

from prefect_zoom._version import __version__

USER_AGENT = f"prefect-zoom/{__version__}"
"""Sent with every request to Zoom (REST API, OAuth token endpoint and downloads)."""

DEFAULT_API_BASE_URL = "https://api.zoom.us/v2"
"""Zoom's REST API; a block's ``api_base_url`` points elsewhere for ZoomGov or the emulator."""

DEFAULT_OAUTH_BASE_URL = "https://zoom.us/oauth"
"""Zoom's OAuth endpoints (``/authorize``, ``/token``, ``/revoke``)."""

HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""Per-request limits: 10 s to connect, 30 s for each read, write or pool wait."""
