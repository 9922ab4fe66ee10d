"""The synchronous Zoom client (``httpx.Client``)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from prefect_zoom._tls import shared_ssl_context
from prefect_zoom.auth.manager import TokenProvider
from prefect_zoom.client._base import ClientCore, Pager
from prefect_zoom.client._transport import http_transport
from prefect_zoom.client.policy import DEFAULT_EXPECTED, Attempts, RetryPolicy


class ZoomClient(ClientCore):
    """Calls Zoom's REST API with a connection's token, retries and errors handled.

    Example:
        ```python
        from prefect_zoom import ZoomServerToServerCredentials

        with ZoomServerToServerCredentials.load("BLOCK_NAME").get_client() as zoom:
            me = zoom.get_json("/users/me", operation="get_user")
        ```
    """

    def __init__(
        self,
        api_base_url: str,
        tokens: TokenProvider,
        *,
        granted_scopes: list[str] | None = None,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(api_base_url, tokens, granted_scopes=granted_scopes, policy=policy)
        if transport is None:
            transport = http_transport(verify=shared_ssl_context())
        self._http = httpx.Client(**self._client_kwargs(), transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZoomClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- the I/O loop ----------------------------------------------------------------------
    def _send(
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
            token = self.tokens.get_token()
            if token == rejected:
                step = attempts.token_not_renewed()
            else:
                pause = self._pace(attempts, path)
                if pause > 0:
                    time.sleep(pause)
                request = self._http.build_request(
                    method,
                    self._url(path),
                    params=params,
                    json=json,
                    headers=self._headers(token, headers),
                )
                try:
                    response = self._http.send(request, stream=stream, follow_redirects=stream)
                except httpx.TransportError as exc:
                    step = attempts.after_transport_error(exc)
                else:
                    self._log(method, response)
                    if response.status_code in expected:
                        return response
                    if response.status_code == 429:
                        self._learn_rate(response)
                    response.read()
                    response.close()
                    step = attempts.after_response(response, expected)
            if step.kind == "fail":
                assert step.error is not None
                raise step.error
            if step.kind == "renew":
                rejected = token
                self.tokens.on_invalid_token(token)
            else:
                rejected = None
                self._log_retry(method, path, step.reason, step.delay)
                time.sleep(step.delay)

    # ---- API -------------------------------------------------------------------------------
    def request(
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
        return self._send(
            attempts,
            method,
            path,
            params=params,
            json=json,
            headers=headers,
            expected=expected,
            stream=False,
        )

    def get_json(
        self,
        path: str,
        *,
        operation: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """GET a path and return its JSON body (``None`` when the body is empty)."""
        response = self.request("GET", path, operation=operation, params=params)
        return response.json() if response.content else None

    def paginate(
        self,
        path: str,
        items_key: str,
        params: Mapping[str, Any] | None = None,
        *,
        operation: str | None = None,
        page_size: int = 300,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, following ``next_page_token``."""
        pager = Pager(path, items_key, params, page_size)
        while (page_params := pager.next_params()) is not None:
            yield from pager.take(self.get_json(path, operation=operation, params=page_params))

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        operation: str | None = None,
        expected: tuple[int, ...] = (200, 206),
    ) -> Iterator[httpx.Response]:
        """A streamed answer (downloads; follows redirects). Retries happen before the body."""
        attempts = self._prepare(method, url, operation)
        response = self._send(
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
            response.close()
