"""The Server-to-Server OAuth Zoom connection (an account-level app, no user sign-in)."""

from __future__ import annotations

import shlex

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

    def connect_command(self, name: str | None = None) -> str:
        """The command that saves this connection again (the secret comes from the environment)."""
        block = name or self._saved_name() or "NAME"
        return (
            f"prefect-zoom connect s2s --block {shlex.quote(block)} --account-id "
            f"{shlex.quote(self.account_id)} --client-id {shlex.quote(self.client_id)} "
            "--overwrite  (with ZOOM_CLIENT_SECRET set)"
        )

    def budget_account_id(self) -> str:
        """The account id of the connection (not a secret): it names the account's limits."""
        return self.account_id

    def _new_token_manager(self) -> TokenManager:
        return ServerToServerTokenManager(BlockTokenStore(self), self._endpoint(), self.account_id)
