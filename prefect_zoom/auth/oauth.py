"""Token manager of a user-authorized (authorization code) connection: rotating refresh tokens."""

from __future__ import annotations

from prefect_zoom.auth.endpoint import TokenEndpoint
from prefect_zoom.auth.manager import TokenManager, TokenStore
from prefect_zoom.auth.tokens import TokenSet
from prefect_zoom.exceptions import ZoomAuthorizeAgainError


class OAuthTokenManager(TokenManager):
    """Refreshes with the latest stored refresh token and saves the rotated one before use."""

    def __init__(
        self,
        store: TokenStore,
        endpoint: TokenEndpoint,
        *,
        reconnect_command: str | None = None,
    ) -> None:
        super().__init__(store, reconnect_command=reconnect_command)
        self.endpoint = endpoint

    def _refresh_token_of(self, current: TokenSet | None) -> str:
        if current is None or current.refresh_token is None:
            hint = "The connection holds no refresh token; authorize the app again."
            if self.reconnect_command:
                hint += f" Run `{self.reconnect_command}`."
            raise ZoomAuthorizeAgainError("No refresh token stored for this connection.", hint=hint)
        return current.refresh_token.get_secret_value()

    def _renew(self, current: TokenSet | None) -> TokenSet:
        return self.endpoint.refresh(self._refresh_token_of(current))

    async def _arenew(self, current: TokenSet | None) -> TokenSet:
        return await self.endpoint.arefresh(self._refresh_token_of(current))
