"""Token manager of a Server-to-Server OAuth connection: ``account_credentials`` grants.

The token is cached in the stored block too, so processes share one token: on accounts where a new
S2S token kills the previous one, every process grabbing its own would knock the others out.
"""

from __future__ import annotations

from prefect_zoom.auth.endpoint import TokenEndpoint
from prefect_zoom.auth.manager import TokenManager, TokenStore
from prefect_zoom.auth.tokens import TokenSet


class ServerToServerTokenManager(TokenManager):
    """Gets a new account token when the shared one is stale or rejected."""

    def __init__(self, store: TokenStore, endpoint: TokenEndpoint, account_id: str) -> None:
        super().__init__(store)
        self.endpoint = endpoint
        self.account_id = account_id

    def _renew(self, current: TokenSet | None) -> TokenSet:
        return self.endpoint.account_credentials(self.account_id)

    async def _arenew(self, current: TokenSet | None) -> TokenSet:
        return await self.endpoint.aaccount_credentials(self.account_id)
