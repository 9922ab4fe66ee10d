"""A connection's bearer token as an ``httpx.Auth``: attached to each request, renewed on a 401.

When Zoom answers 401 with its invalid-token code (124, or an answer that names no code), the
connection adopts a newer stored token or renews (:class:`~prefect_zoom.auth.manager.TokenManager`)
and the request goes again with the new token, at most ``max_token_retries`` times: another
process may renew again in between. When the connection has nothing newer, Zoom's 401 stands and
the client raises it. Every send is paced once its token is there (the callable in its
:data:`PACE_EXTENSION`, set by the pack's clients): requests paced before they waited for a
token (a cold process fetching its first one, or a renewal after a 401) would otherwise go in
the same instant, a burst over Zoom's per-second limit. The clients check
where a request goes (:mod:`prefect_zoom.client.origins`) before any token is fetched; redirects
to another origin drop the header (httpx's rule).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import httpx

from prefect_zoom._sansio import Flow, Stepper

if TYPE_CHECKING:
    from prefect_zoom.auth.manager import TokenProvider

INVALID_TOKEN_CODE = 124
"""Zoom's code for an access token it does not accept (invalid, expired or revoked)."""

PACE_EXTENSION = "prefect_zoom.pace"
"""The request extension holding a callable that gives the seconds to wait before each send of
the request (its rate pacing); none: sent at once."""


@dataclass(frozen=True)
class _Token:
    """Ask the connection for its token; after ``rejected`` was refused, for a newer one."""

    rejected: str | None = None


@dataclass(frozen=True)
class _Pace:
    """Wait as the request's pacing says before it goes again."""


def _pacing(request: httpx.Request) -> Iterable[float]:
    pace: Callable[[], Iterable[float]] = request.extensions.get(PACE_EXTENSION, tuple)
    return pace()


def is_invalid_token(response: httpx.Response) -> bool:
    """A 401 with Zoom's invalid-token code (or no code): a newer token may pass."""
    if response.status_code != 401:
        return False
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):  # not a JSON object: Zoom's gateway, not the API
        return True
    return code is None or str(code) == str(INVALID_TOKEN_CODE)


def with_bearer(request: httpx.Request, token: str) -> httpx.Request:
    """A copy of ``request`` carrying ``token`` (each send its own request: the one given stays
    as it was, for the next try)."""
    headers = request.headers.copy()
    headers["Authorization"] = f"Bearer {token}"
    return httpx.Request(
        request.method,
        request.url,
        headers=headers,
        stream=request.stream,
        extensions=request.extensions,
    )


class ZoomAuth(httpx.Auth):
    """``Authorization: Bearer`` from a :class:`~prefect_zoom.auth.manager.TokenProvider`."""

    def __init__(self, tokens: TokenProvider, max_token_retries: int = 3) -> None:
        self.tokens = tokens
        self.max_token_retries = max_token_retries

    def __repr__(self) -> str:
        return f"ZoomAuth(max_token_retries={self.max_token_retries})"

    def _flow(self, request: httpx.Request) -> Flow[None]:
        """The rules, no I/O: yields ``_Token`` (answer: a token), ``_Pace`` (waited out) or the
        request (answer: Zoom's answer, its body read when it is a 401)."""
        token: str = yield _Token()
        for retry in range(self.max_token_retries + 1):
            yield _Pace()  # after the token: requests that waited for it do not go at once
            response: httpx.Response = yield with_bearer(request, token)
            if retry == self.max_token_retries or not is_invalid_token(response):
                return
            renewed: str = yield _Token(rejected=token)
            if renewed == token:  # nothing newer to try: Zoom's 401 stands
                return
            token = renewed

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        step = Stepper(self._flow(request))
        while (need := step.next()) is not None:
            if isinstance(need, httpx.Request):
                response = yield need
                if response.status_code == 401:
                    response.read()
                step.answer(response)
            elif isinstance(need, _Pace):
                for wait in _pacing(request):
                    time.sleep(wait)
            else:
                if need.rejected is not None:
                    self.tokens.on_invalid_token(need.rejected)
                step.answer(self.tokens.get_token())

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        step = Stepper(self._flow(request))
        while (need := step.next()) is not None:
            if isinstance(need, httpx.Request):
                response = yield need
                if response.status_code == 401:
                    await response.aread()
                step.answer(response)
            elif isinstance(need, _Pace):
                for wait in _pacing(request):
                    await anyio.sleep(wait)
            else:
                if need.rejected is not None:
                    await self.tokens.aon_invalid_token(need.rejected)
                step.answer(await self.tokens.aget_token())
