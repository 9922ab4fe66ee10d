"""Tokens of Zoom connections: renewal that is safe across threads, tasks and processes."""

from prefect_zoom.auth.endpoint import TokenEndpoint
from prefect_zoom.auth.locks import ConnectionLockTimeout, aconnection_lock, connection_lock
from prefect_zoom.auth.manager import (
    MemoryTokenStore,
    StaticToken,
    TokenManager,
    TokenProvider,
    TokenStore,
)
from prefect_zoom.auth.oauth import OAuthTokenManager
from prefect_zoom.auth.s2s import ServerToServerTokenManager
from prefect_zoom.auth.tokens import TokenSet

__all__ = [
    "ConnectionLockTimeout",
    "MemoryTokenStore",
    "OAuthTokenManager",
    "ServerToServerTokenManager",
    "StaticToken",
    "TokenEndpoint",
    "TokenManager",
    "TokenProvider",
    "TokenSet",
    "TokenStore",
    "aconnection_lock",
    "connection_lock",
]
