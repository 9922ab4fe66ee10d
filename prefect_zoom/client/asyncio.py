"""The asynchronous Zoom client (``httpx.AsyncClient``): awaits :class:`ClientCore`'s flows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Unpack

import httpx

from prefect_zoom._sansio import Flow, arun
from prefect_zoom._tls import shared_ssl_context
from prefect_zoom.client._base import (
    ClientCore,
    PageOptions,
    Pager,
    RequestOptions,
    aperform,
)
from prefect_zoom.client._transport import async_http_transport


class AsyncZoomClient(ClientCore[httpx.AsyncBaseTransport]):
    """The async counterpart of :class:`~prefect_zoom.client.ZoomClient`, with the same policy.

    Example:
        ```python
        from prefect_zoom import ZoomServerToServerCredentials

        credentials = await ZoomServerToServerCredentials.aload("BLOCK_NAME")
        async with credentials.get_async_client() as zoom:
            me = await zoom.get_json("/users/me", operation="get_user")
        ```
    """

    _http: httpx.AsyncClient

    def _open(
        self, kwargs: dict[str, Any], transport: httpx.AsyncBaseTransport | None
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            **kwargs, transport=transport or async_http_transport(shared_ssl_context())
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncZoomClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _arun(self, flow: Flow[httpx.Response]) -> httpx.Response:
        return await arun(flow, lambda need: aperform(self._http, need))

    # ---- API: the sync client's, awaited ---------------------------------------------------
    async def request(
        self, method: str, path: str, **options: Unpack[RequestOptions]
    ) -> httpx.Response:
        """Send one request (path relative to the API base) and return Zoom's answer."""
        return await self._arun(self._call(method, path, options))

    async def get_json(self, path: str, **options: Unpack[RequestOptions]) -> Any:
        """GET a path and return its JSON body (``None`` when the body is empty)."""
        return self._json(await self.request("GET", path, **options))

    async def paginate(
        self, path: str, items_key: str | None, **options: Unpack[PageOptions]
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list, following ``next_page_token``."""
        pager = Pager(path, items_key, **options)
        while (query := pager.next_query()) is not None:
            for item in pager.take(await self.get_json(path, **query)):
                yield item

    @asynccontextmanager
    async def stream(
        self, method: str, url: str, **options: Unpack[RequestOptions]
    ) -> AsyncIterator[httpx.Response]:
        """A streamed answer (downloads; follows redirects). Retries happen before the body."""
        response = await self._arun(self._call(method, url, options, stream=True))
        try:
            yield response
        finally:
            await response.aclose()
