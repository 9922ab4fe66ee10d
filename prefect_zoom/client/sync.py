"""The synchronous Zoom client (``httpx.Client``): drives :class:`ClientCore`'s flows in this thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Unpack

import httpx

from prefect_zoom._sansio import Flow, run
from prefect_zoom._tls import shared_ssl_context
from prefect_zoom.client._base import (
    ClientCore,
    PageOptions,
    Pager,
    RequestOptions,
    perform,
)
from prefect_zoom.client._transport import http_transport


class ZoomClient(ClientCore[httpx.BaseTransport]):
    """Calls Zoom's REST API with a connection's token, retries and errors handled.

    Example:
        ```python
        from prefect_zoom import ZoomServerToServerCredentials

        with ZoomServerToServerCredentials.load("BLOCK_NAME").get_client() as zoom:
            me = zoom.get_json("/users/me", operation="get_user")
        ```
    """

    _http: httpx.Client

    def _open(self, kwargs: dict[str, Any], transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(**kwargs, transport=transport or http_transport(shared_ssl_context()))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZoomClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, flow: Flow[httpx.Response]) -> httpx.Response:
        return run(flow, lambda need: perform(self._http, need))

    # ---- API -------------------------------------------------------------------------------
    def request(self, method: str, path: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Send one request (path relative to the API base) and return Zoom's answer."""
        return self._run(self._call(method, path, options))

    def get_json(self, path: str, **options: Unpack[RequestOptions]) -> Any:
        """GET a path and return its JSON body (``None`` when the body is empty)."""
        return self._json(self.request("GET", path, **options))

    def paginate(
        self, path: str, items_key: str | None, **options: Unpack[PageOptions]
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, following ``next_page_token``."""
        return Pager(path, items_key, **options).items(lambda query: self.get_json(path, **query))

    @contextmanager
    def stream(
        self, method: str, url: str, **options: Unpack[RequestOptions]
    ) -> Iterator[httpx.Response]:
        """A streamed answer (downloads; follows redirects; ``expected`` defaults to 200 and
        206). Retries happen before the body."""
        response = self._run(self._call(method, url, options, stream=True))
        try:
            yield response
        finally:
            response.close()
