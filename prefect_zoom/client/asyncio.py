"""The asynchronous Zoom client (``httpx.AsyncClient``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from prefect_zoom.auth.manager import TokenProvider
from prefect_zoom.client._base import ClientCore, Pager
from prefect_zoom.client.policy import DEFAULT_EXPECTED, Attempts, RetryPolicy


class AsyncZoomClient(ClientCore):
    """Async twin of :class:`~prefect_zoom.client.ZoomClient`, with the same policy.

    Example:
        ```python
        from prefect_zoom import ZoomServerToServerCredentials

        credentials = await ZoomServerToServerCredentials.aload("BLOCK_NAME")
        async with credentials.get_async_client() as zoom:
            me = await zoom.get_json("/users/me", operation="get_user")
        ```
    """

    def __init__(
        self,
        api_base_url: str,
        tokens: TokenProvider,
        *,
        granted_scopes: list[str] | None = None,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(api_base_url, tokens, granted_scopes=granted_scopes, policy=policy)
        self._http = httpx.AsyncClient(**self._client_kwargs(), transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncZoomClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---- the I/O loop ----------------------------------------------------------------------
    async def _send(
        self,
        attempts: Attempts,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        expected: tuple[int, ...],
        stream: bool,
    ) -> httpx.Response:
        rejected: str | None = None
        while True:
            token = await self.tokens.aget_token()
            if token == rejected:
                step = attempts.token_not_renewed()
            else:
                pause = self._pace(attempts, path)
                if pause > 0:
                    await asyncio.sleep(pause)
                request = self._http.build_request(
                    method,
                    self._url(path),
                    params=params,
                    json=json,
                    headers=self._headers(token, headers),
                )
                try:
                    response = await self._http.send(
                        request, stream=stream, follow_redirects=stream
                    )
                except httpx.TransportError as exc:
                    step = attempts.after_transport_error(exc)
                else:
                    self._log(method, response)
                    if response.status_code in expected:
                        return response
                    if response.status_code == 429:
                        self._learn_rate(response)
                    await response.aread()
                    await response.aclose()
                    step = attempts.after_response(response, expected)
            if step.kind == "fail":
                assert step.error is not None
                raise step.error
            if step.kind == "renew":
                rejected = token
                await self.tokens.aon_invalid_token(token)
            else:
                rejected = None
                self._log_retry(method, path, step.reason, step.delay)
                await asyncio.sleep(step.delay)

    # ---- API -------------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expected: tuple[int, ...] = DEFAULT_EXPECTED,
    ) -> httpx.Response:
        """Send one request (path relative to the API base) and return Zoom's answer."""
        attempts = self._prepare(method, path, operation)
        return await self._send(
            attempts,
            method,
            path,
            params=params,
            json=json,
            headers=headers,
            expected=expected,
            stream=False,
        )

    async def get_json(
        self,
        path: str,
        *,
        operation: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """GET a path and return its JSON body (``None`` when the body is empty)."""
        response = await self.request("GET", path, operation=operation, params=params)
        return response.json() if response.content else None

    async def paginate(
        self,
        path: str,
        items_key: str,
        params: Mapping[str, Any] | None = None,
        *,
        operation: str | None = None,
        page_size: int = 300,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list, following ``next_page_token``."""
        pager = Pager(path, items_key, params, page_size)
        while (page_params := pager.next_params()) is not None:
            page = await self.get_json(path, operation=operation, params=page_params)
            for item in pager.take(page):
                yield item

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        operation: str | None = None,
        expected: tuple[int, ...] = (200, 206),
    ) -> AsyncIterator[httpx.Response]:
        """A streamed answer (downloads; follows redirects). Retries happen before the body."""
        attempts = self._prepare(method, url, operation)
        response = await self._send(
            attempts,
            method,
            url,
            params=params,
            json=None,
            headers=headers,
            expected=expected,
            stream=True,
        )
        try:
            yield response
        finally:
            await response.aclose()
