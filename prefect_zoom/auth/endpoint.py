"""Zoom's OAuth token endpoint: authorization code, refresh (rotating) and account credentials.

Each grant is built with authlib's protocol helpers (``prepare_token_request``, ``ClientAuth``
with ``client_secret_basic``; Server-to-Server's parameters go in the query, as Zoom wants) and
sent by the API clients' own loop (:func:`prefect_zoom.client._base.exchange`) under
:data:`TOKEN_POLICY`: 5xx answers, rate limits and network errors are retried a few times with
backoff; Zoom's error answers (``invalid_grant`` and the others) become
:mod:`prefect_zoom.exceptions` errors at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from prefect_zoom._sansio import Flow, arun, run
from prefect_zoom._tls import shared_ssl_context
from prefect_zoom.auth.tokens import TokenSet, utcnow
from prefect_zoom.client._base import DEFAULT_TIMEOUT, USER_AGENT, aperform, exchange, perform
from prefect_zoom.client.policy import Attempts, RetryPolicy

TOKEN_POLICY = RetryPolicy(
    max_attempts=3,
    backoff_base=0.25,
    backoff_cap=4.0,
    # sent again after a 5xx or no answer (a refresh whose answer was lost is lost either way)
    retry_methods=frozenset({"POST"}),
    rate_plan=None,
    learn_rate_limits=False,
)
"""How token requests are retried (three sends at most; ``invalid_grant`` never)."""


class TokenEndpoint:
    """One app's view of ``{oauth_base_url}/token``."""

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

    # ---- requests (no I/O) -----------------------------------------------------------------
    def _request(
        self, grant_type: str, fields: dict[str, str], *, in_query: bool = False
    ) -> httpx.Request:
        """A token request for ``grant_type``, authenticated with the app's client secret."""
        form = prepare_token_request(grant_type, **fields)
        url, body = (f"{self.token_url}?{form}", "") if in_query else (self.token_url, form)
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        client = ClientAuth(self.client_id, self._client_secret(), "client_secret_basic")
        url, headers, body = client.prepare("POST", url, headers, body)
        return httpx.Request("POST", url, headers=headers, content=body.encode())

    def _flow(self, request: httpx.Request, policy: RetryPolicy | None = None) -> Flow[TokenSet]:
        """Send ``request`` under the token policy; the tokens, their clock started before it."""
        requested = utcnow()
        attempts = Attempts(
            policy or TOKEN_POLICY, "POST", reconnect_command=self.reconnect_command
        )
        response: httpx.Response = yield from exchange(attempts, request, expected=(200,))
        return TokenSet.from_response(response.json(), now=requested)

    def _refresh_request(self, refresh_token: str) -> httpx.Request:
        return self._request("refresh_token", {"refresh_token": refresh_token})

    def _account_request(self, account_id: str) -> httpx.Request:
        return self._request("account_credentials", {"account_id": account_id}, in_query=True)

    # ---- the sync and async shells ---------------------------------------------------------
    def _send(self, request: httpx.Request, policy: RetryPolicy | None = None) -> TokenSet:
        client = httpx.Client(
            timeout=DEFAULT_TIMEOUT, verify=shared_ssl_context(), transport=self._transport
        )
        with client:
            return run(self._flow(request, policy), lambda need: perform(client, need))

    async def _asend(self, request: httpx.Request) -> TokenSet:
        client = httpx.AsyncClient(
            timeout=DEFAULT_TIMEOUT, verify=shared_ssl_context(), transport=self._async_transport
        )
        async with client:
            return await arun(self._flow(request), lambda need: aperform(client, need))

    # ---- grants ----------------------------------------------------------------------------
    def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token for new tokens (the old refresh token dies at once)."""
        return self._send(self._refresh_request(refresh_token))

    async def arefresh(self, refresh_token: str) -> TokenSet:
        """:meth:`refresh` for async callers."""
        return await self._asend(self._refresh_request(refresh_token))

    def account_credentials(self, account_id: str) -> TokenSet:
        """A Server-to-Server token for the account (``grant_type=account_credentials``)."""
        return self._send(self._account_request(account_id))

    async def aaccount_credentials(self, account_id: str) -> TokenSet:
        """:meth:`account_credentials` for async callers."""
        return await self._asend(self._account_request(account_id))

    def exchange_code(
        self, code: str, redirect_uri: str, *, code_verifier: str | None = None
    ) -> TokenSet:
        """Trade an authorization code for the first tokens of a connection (PKCE verifier).

        Never retried: a code is good for one exchange."""
        fields = {"code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            fields["code_verifier"] = code_verifier
        request = self._request("authorization_code", fields)
        return self._send(request, replace(TOKEN_POLICY, max_attempts=1))
