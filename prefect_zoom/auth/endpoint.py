"""Zoom's OAuth token endpoint: authorization code, refresh (rotating), account credentials, revoke.

OAuth grants go through authlib's httpx clients with ``client_secret_basic``; a compliance hook
turns Zoom's error answers into :mod:`prefect_zoom.exceptions` errors before authlib parses them.
5xx answers and network errors are retried a few times; ``invalid_grant`` never is.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import authlib.deprecate  # noqa: F401 - installs authlib's own warning filter first
import httpx

with warnings.catch_warnings():
    # authlib prefers the "httpx2" fork and warns when it falls back to httpx, which we use.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

from prefect_zoom._tls import shared_ssl_context
from prefect_zoom._version import __version__
from prefect_zoom.auth.tokens import TokenSet, utcnow
from prefect_zoom.client.errors import error_from_response
from prefect_zoom.exceptions import ZoomServerError

logger = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = f"prefect-zoom/{__version__}"
TOKEN_ATTEMPTS = 3
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_jitter = random.Random()  # our own, so the global random of user code stays untouched


class TokenEndpoint:
    """One app's view of ``{oauth_base_url}/token`` and ``/revoke``."""

    def __init__(
        self,
        oauth_base_url: str,
        client_id: str,
        client_secret: Callable[[], str],
        *,
        reconnect_command: str | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.oauth_base_url = oauth_base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.reconnect_command = reconnect_command
        self._transport = transport
        self._async_transport = async_transport

    @property
    def token_url(self) -> str:
        return f"{self.oauth_base_url}/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.oauth_base_url}/revoke"

    # ---- plumbing --------------------------------------------------------------------------
    def _raise_for_error(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            response.read()
            raise error_from_response(response, reconnect_command=self.reconnect_command)
        return response

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self._client_secret(),
            "token_endpoint_auth_method": "client_secret_basic",
            "revocation_endpoint_auth_method": "client_secret_basic",
            "timeout": TIMEOUT,
            "verify": shared_ssl_context(),
            "headers": {"User-Agent": USER_AGENT},
        }

    def _http(self) -> httpx.Client:
        """A plain client for the calls authlib does not make (account credentials, revoke)."""
        return httpx.Client(timeout=TIMEOUT, verify=shared_ssl_context(), transport=self._transport)

    def _ahttp(self) -> httpx.AsyncClient:
        """Async twin of :meth:`_http`."""
        return httpx.AsyncClient(
            timeout=TIMEOUT, verify=shared_ssl_context(), transport=self._async_transport
        )

    def _oauth(self) -> OAuth2Client:
        client = OAuth2Client(**self._client_kwargs(), transport=self._transport)
        for hook in ("access_token_response", "refresh_token_response"):
            client.register_compliance_hook(hook, self._raise_for_error)
        return client

    def _aoauth(self) -> AsyncOAuth2Client:
        client = AsyncOAuth2Client(**self._client_kwargs(), transport=self._async_transport)
        for hook in ("access_token_response", "refresh_token_response"):
            client.register_compliance_hook(hook, self._raise_for_error)
        return client

    # ---- grants ----------------------------------------------------------------------------
    def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token for new tokens (the old refresh token dies at once)."""

        def call() -> TokenSet:
            requested = utcnow()
            with self._oauth() as client:
                data = client.refresh_token(self.token_url, refresh_token=refresh_token)
            return TokenSet.from_response(data, now=requested)

        return _with_retries(call, "refresh_token")

    async def arefresh(self, refresh_token: str) -> TokenSet:
        """Async twin of :meth:`refresh`."""

        async def call() -> TokenSet:
            requested = utcnow()
            async with self._aoauth() as client:
                data = await client.refresh_token(self.token_url, refresh_token=refresh_token)
            return TokenSet.from_response(data, now=requested)

        return await _awith_retries(call, "refresh_token")

    def exchange_code(
        self, code: str, redirect_uri: str, *, code_verifier: str | None = None
    ) -> TokenSet:
        """Trade an authorization code for the first tokens of a connection (never retried)."""
        extra = {"code_verifier": code_verifier} if code_verifier else {}
        requested = utcnow()
        with self._oauth() as client:
            data = client.fetch_token(
                self.token_url,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                **extra,
            )
        return TokenSet.from_response(data, now=requested)

    async def aexchange_code(
        self, code: str, redirect_uri: str, *, code_verifier: str | None = None
    ) -> TokenSet:
        """Async twin of :meth:`exchange_code`."""
        extra = {"code_verifier": code_verifier} if code_verifier else {}
        requested = utcnow()
        async with self._aoauth() as client:
            data = await client.fetch_token(
                self.token_url,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                **extra,
            )
        return TokenSet.from_response(data, now=requested)

    def _account_request(self, account_id: str) -> dict[str, Any]:
        return {
            "params": {"grant_type": "account_credentials", "account_id": account_id},
            "auth": httpx.BasicAuth(self.client_id, self._client_secret()),
            "headers": {"User-Agent": USER_AGENT, "Accept": "application/json"},
        }

    def account_credentials(self, account_id: str) -> TokenSet:
        """A Server-to-Server token for the account (``grant_type=account_credentials``)."""

        def call() -> TokenSet:
            requested = utcnow()
            with self._http() as client:
                response = client.post(self.token_url, **self._account_request(account_id))
            return TokenSet.from_response(self._raise_for_error(response).json(), now=requested)

        return _with_retries(call, "account_credentials")

    async def aaccount_credentials(self, account_id: str) -> TokenSet:
        """Async twin of :meth:`account_credentials`."""

        async def call() -> TokenSet:
            requested = utcnow()
            async with self._ahttp() as c:
                response = await c.post(self.token_url, **self._account_request(account_id))
            return TokenSet.from_response(self._raise_for_error(response).json(), now=requested)

        return await _awith_retries(call, "account_credentials")

    def revoke(self, token: str) -> None:
        """Revoke a token at Zoom (``POST /oauth/revoke``, form ``token=…``)."""
        with self._http() as client:
            response = client.post(
                self.revoke_url,
                data={"token": token},
                auth=httpx.BasicAuth(self.client_id, self._client_secret()),
                headers={"User-Agent": USER_AGENT},
            )
        self._raise_for_error(response)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (ZoomServerError, httpx.TransportError))


def _delay(attempt: int) -> float:
    return _jitter.uniform(0, min(4.0, 0.25 * 2**attempt))


def _with_retries(call: Callable[[], T], grant: str) -> T:
    for attempt in range(TOKEN_ATTEMPTS):
        try:
            return call()
        except Exception as exc:
            if not _retryable(exc) or attempt == TOKEN_ATTEMPTS - 1:
                raise
            logger.warning(
                "Zoom token request (%s) failed (%s); retrying", grant, type(exc).__name__
            )
            time.sleep(_delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


async def _awith_retries(call: Callable[[], Awaitable[T]], grant: str) -> T:
    for attempt in range(TOKEN_ATTEMPTS):
        try:
            return await call()
        except Exception as exc:
            if not _retryable(exc) or attempt == TOKEN_ATTEMPTS - 1:
                raise
            logger.warning(
                "Zoom token request (%s) failed (%s); retrying", grant, type(exc).__name__
            )
            await asyncio.sleep(_delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover
