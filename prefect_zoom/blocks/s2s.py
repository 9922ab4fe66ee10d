"""The Server-to-Server OAuth Zoom connection (an account-level app, no user sign-in)."""

from __future__ import annotations

from pydantic import Field

from prefect_zoom.auth.manager import TokenManager
from prefect_zoom.auth.s2s import ServerToServerTokenManager
from prefect_zoom.blocks._base import ZoomCredentialsBase
from prefect_zoom.blocks._store import BlockTokenStore


class ZoomServerToServerCredentials(ZoomCredentialsBase):
    """A Zoom account connected through a Server-to-Server OAuth app.

    The pack gets account tokens with the ``account_credentials`` grant and caches the current one
    in this block, so every process shares one token (on accounts where a new token invalidates
    the previous one, that matters).

    Attributes:
        account_id: Zoom account ID shown on the app's credentials page.
        client_id: Client ID of the Server-to-Server OAuth app.
        client_secret: Client secret of the app (or use client_secret_block_name).

    Examples:
        Load the connection and call Zoom:
        ```python
        from prefect_zoom import ZoomServerToServerCredentials

        zoom_credentials = ZoomServerToServerCredentials.load("BLOCK_NAME")
        with zoom_credentials.get_client() as client:
            me = client.get_json("/users/me", operation="get_user")
        ```
    """

    _block_type_name = "Zoom Server-to-Server Credentials"
    _description = (
        "A Zoom account connected through a Server-to-Server OAuth app: account id, client id "
        "and secret, and the shared cached access token."
    )

    account_id: str = Field(
        default=...,
        title="Account ID",
        description="Zoom account ID shown on the Server-to-Server app's App Credentials page.",
    )

    def _new_token_manager(self) -> TokenManager:
        return ServerToServerTokenManager(BlockTokenStore(self), self._endpoint(), self.account_id)
