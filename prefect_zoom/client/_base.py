"""What the sync and async clients share: addresses, headers, scope checks, paging, logging."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from prefect_zoom._tls import shared_ssl_context
from prefect_zoom._version import __version__
from prefect_zoom.auth.manager import TokenProvider
from prefect_zoom.catalog import Operation
from prefect_zoom.client.origins import check_token_destination
from prefect_zoom.client.pacing import PACERS
from prefect_zoom.client.policy import Attempts, RetryPolicy, check_scopes, resolve_operation

logger = logging.getLogger("prefect_zoom.client")

USER_AGENT = f"prefect-zoom/{__version__}"
DEFAULT_API_BASE_URL = "https://api.zoom.us/v2"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_PAGE_SIZE = 300


class ClientCore:
    """State and helpers of a Zoom client; the I/O loops live in the sync and async classes."""

    def __init__(
        self,
        api_base_url: str,
        tokens: TokenProvider,
        *,
        granted_scopes: list[str] | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.api_base_url = api_base_url.rstrip("/")
        self.tokens = tokens
        self._granted_scopes = granted_scopes
        self.policy = policy or RetryPolicy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_base_url={self.api_base_url!r})"

    @property
    def granted_scopes(self) -> list[str] | None:
        """The connection's scopes when known (from the constructor or the latest token)."""
        return self._granted_scopes or self.tokens.granted_scopes

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.api_base_url + "/",
            "timeout": DEFAULT_TIMEOUT,
            "headers": {"User-Agent": USER_AGENT, "Accept": "application/json"},
            "verify": shared_ssl_context(),
        }

    def _prepare(self, method: str, path: str, operation: str | None) -> Attempts:
        """Check the destination and the scopes before sending; start the attempt bookkeeping.

        An absolute URL (a download) must be one the connection's token may go to
        (:mod:`prefect_zoom.client.origins`); anything else raises ``ZoomForeignHostError``
        before a token is even fetched.
        """
        absolute = _absolute(path)
        if absolute is not None:
            check_token_destination(absolute, httpx.URL(self.api_base_url))
        op: Operation | None = resolve_operation(operation)
        reconnect = self.tokens.reconnect_command
        check_scopes(op, path, self.granted_scopes, reconnect_command=reconnect)
        return Attempts(self.policy, method, operation=op, reconnect_command=reconnect)

    def _pace(self, attempts: Attempts, path: str) -> float:
        """Seconds to wait before sending an API request so its label stays under Zoom's limit.

        Zero for downloads (absolute URLs), requests without an operation, and labels with no
        plan and nothing learned yet (see :mod:`prefect_zoom.client.pacing`).
        """
        if attempts.operation is None or _absolute(path) is not None:
            return 0.0
        pacer = PACERS.get(self.api_base_url, attempts.operation.label, self.policy.rate_plan)
        return pacer.reserve() if pacer is not None else 0.0

    def _learn_rate(self, response: httpx.Response) -> None:
        """After a per-second 429 that names its label and limit, pace that label from now on."""
        headers = response.headers
        if not self.policy.learn_rate_limits:
            return
        if (headers.get("x-ratelimit-type") or "").strip().lower() != "qps":
            return
        PACERS.learn(
            self.api_base_url,
            headers.get("x-ratelimit-category"),
            headers.get("x-ratelimit-limit"),
        )

    @staticmethod
    def _url(path: str) -> str:
        """Relative paths join the API base; absolute URLs (downloads, checked by ``_prepare``)
        are used as they are."""
        if _absolute(path) is not None:
            return path
        return path.lstrip("/")

    @staticmethod
    def _headers(token: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        headers["Authorization"] = f"Bearer {token}"
        return headers

    @staticmethod
    def _log(method: str, response: httpx.Response) -> None:
        logger.debug(
            "Zoom %s %s -> %s (tracking id %s)",
            method,
            response.request.url.path,
            response.status_code,
            response.headers.get("x-zm-trackingid", "none"),
        )

    @staticmethod
    def _log_retry(method: str, path: str, why: str, delay: float) -> None:
        logger.warning("Zoom %s %s: %s; retrying in %.2f s", method, path, why, delay)


def _absolute(path: str) -> httpx.URL | None:
    """The URL when ``path`` has a scheme (any case, any scheme), else ``None`` (API path)."""
    url = httpx.URL(path)
    return url if url.scheme else None


class Pager:
    """Follows ``next_page_token`` until it is empty; stops (with a warning) on a repeated token."""

    def __init__(
        self, path: str, items_key: str, params: Mapping[str, Any] | None, page_size: int
    ) -> None:
        self.path = path
        self.items_key = items_key
        self.params = dict(params or {})
        self.params["page_size"] = max(1, min(page_size, MAX_PAGE_SIZE))
        self._token: str | None = None
        self._seen: set[str] = set()
        self._done = False

    def next_params(self) -> dict[str, Any] | None:
        """Query of the next page, or ``None`` when there is none."""
        if self._done:
            return None
        params = dict(self.params)
        if self._token:
            params["next_page_token"] = self._token
        return params

    def take(self, page: Any) -> list[dict[str, Any]]:
        """The items of a page; remembers where the next one starts."""
        data = page if isinstance(page, dict) else {}
        items = data.get(self.items_key) or []
        token = str(data.get("next_page_token") or "")
        if not token:
            self._done = True
        elif token in self._seen:
            logger.warning(
                "Zoom repeated a next_page_token for %s; stopping to avoid a loop", self.path
            )
            self._done = True
        else:
            self._seen.add(token)
            self._token = token
        return list(items)
