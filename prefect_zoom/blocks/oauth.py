"""The user-authorized Zoom connection (OAuth 2.0 authorization code, your own or a shared app)."""

from __future__ import annotations

import shlex

from pydantic import Field, SecretStr

from prefect_zoom.auth.manager import TokenManager
from prefect_zoom.auth.oauth import OAuthTokenManager
from prefect_zoom.auth.tokens import TokenSet
from prefect_zoom.blocks._base import ZoomCredentialsBase
from prefect_zoom.blocks._store import BlockTokenStore


class ZoomOAuthCredentials(ZoomCredentialsBase):
    """A Zoom account connected by a user through OAuth 2.0 (authorization code).

    Holds the Zoom app's client id and secret (your own app, or one shared by your team) and the
    connection's tokens. Zoom rotates the refresh token on every refresh and accepts only the
    newest access token, so the pack renews the token once for every thread, task and process using
    this block, and saves the new refresh token to the block before using the new access token.
    Create it with ``prefect-zoom connect oauth --block NAME``.

    Attributes:
        client_id: Client ID of the Zoom app.
        client_secret: Client secret of the Zoom app (or use client_secret_block_name).
        redirect_uri: Redirect URL registered on the Zoom app.
        refresh_token: The connection's refresh token; rotated and saved by the pack.
    """

    _block_type_name = "Zoom OAuth Credentials"
    _description = (
        "A Zoom account connected by a user through OAuth 2.0 (authorization code): the app's "
        "client id and secret plus the connection's rotating tokens."
    )

    redirect_uri: str = Field(
        default="http://127.0.0.1:8765/callback",
        title="Redirect URI",
        description="Redirect URL registered on the Zoom app, used when connecting.",
    )
    refresh_token: SecretStr | None = Field(
        default=None,
        description="The connection's refresh token; rotated by Zoom and saved here by the pack.",
    )

    def connect_command(self, name: str | None = None) -> str:
        """The command that authorizes this connection again with its saved app settings."""
        block = name or self._saved_name() or "NAME"
        return f"prefect-zoom connect oauth --block {shlex.quote(block)}"

    def reconnect_command(self) -> str:
        """The command that authorizes this connection again and saves it under the same name."""
        return self.connect_command()

    def store_tokens(self, tokens: TokenSet) -> None:
        """Keep Zoom's latest tokens, the rotated refresh token too (written when saved)."""
        super().store_tokens(tokens)
        if tokens.refresh_token is not None:
            self.refresh_token = tokens.refresh_token

    def _new_token_manager(self) -> TokenManager:
        return OAuthTokenManager(
            BlockTokenStore(self), self._endpoint(), reconnect_command=self.reconnect_command()
        )
