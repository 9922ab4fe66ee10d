"""What the sync and async clients share: the send loop as a flow with no I/O, addresses,
headers, scope checks, pacing, paging, logging.

:func:`exchange` holds the retry loop of one logical request (the decisions are
:class:`~prefect_zoom.client.policy.Attempts`'): it yields :class:`Send`, :class:`Discard` and
:class:`Wait`, which :func:`perform` (sync) and :func:`aperform` (async) carry out. The bearer
token and Zoom's 401 are the clients' ``httpx.Auth``
(:class:`~prefect_zoom.auth.httpx_auth.ZoomAuth`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypedDict, TypeVar, Unpack

import httpx

from prefect_zoom._sansio import Flow
from prefect_zoom._tls import shared_ssl_context
from prefect_zoom._version import __version__
from prefect_zoom.auth.httpx_auth import PACE_EXTENSION, ZoomAuth
from prefect_zoom.auth.manager import TokenProvider
from prefect_zoom.catalog import Operation, operation_named
from prefect_zoom.client.budget import BUDGETS
from prefect_zoom.client.daily import DAILY_CAP
from prefect_zoom.client.limits import prefect_api_configured
from prefect_zoom.client.origins import check_token_destination
from prefect_zoom.client.pacing import PACERS
from prefect_zoom.client.policy import DEFAULT_EXPECTED, Attempts, RetryPolicy
from prefect_zoom.client.scopes import check_scopes
from prefect_zoom.exceptions import ZoomInputError

logger = logging.getLogger("prefect_zoom.client")

USER_AGENT = f"prefect-zoom/{__version__}"
DEFAULT_API_BASE_URL = "https://api.zoom.us/v2"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_PAGE_SIZE = 300
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
"""A URL's scheme, as RFC 3986 and httpx spell it: a path that starts with one is absolute."""

Params = Mapping[str, Any] | None
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)


class ConnectionAccount(NamedTuple):
    """The account a connection's requests count against, and the user ``me`` names in them
    (``None``: not known, e.g. a Server-to-Server connection)."""

    account_id: str
    user_id: str | None = None


class ClientSettings(TypedDict, total=False):
    """How a client behaves, besides its address, connection and transport."""

    granted_scopes: list[str] | None
    """The connection's scopes, when known better than its latest token says."""
    policy: RetryPolicy | None
    """Retries, token renewals and pacing (default: :class:`RetryPolicy`'s defaults)."""
    account_id: str | None
    """The Zoom account the requests count against: with it, the account-wide rate budget and
    the daily meeting cap are shared with every process on the Prefect API
    (:mod:`prefect_zoom.client.budget`, :mod:`prefect_zoom.client.daily`)."""
    account_lookup: Callable[[], ConnectionAccount] | None
    """Finds the account when ``account_id`` is not given (thread-safe, remembered by its owner),
    called only when a request is about to spend the account's budget: a connection served by
    name learns it from Zoom once per process
    (:meth:`prefect_zoom.connections.Connection.account`)."""


class RequestOptions(TypedDict, total=False):
    """What a request may carry besides its method and path."""

    operation: str | Operation | None
    """The catalog operation (scopes are checked, and the request paced, by it)."""
    params: Params
    json: Any
    headers: Mapping[str, str] | None
    expected: tuple[int, ...]
    """The statuses that are an answer (others are retried or raised)."""


class PageOptions(TypedDict, total=False):
    """How a paged list is read."""

    params: Params
    """The list's query (``page_size`` and ``next_page_token`` are the pager's)."""
    operation: str | Operation | None
    page_size: int
    """Items per page (300 by default, Zoom's most)."""


# ---- the send loop, no I/O ---------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    """Send ``request`` (``stream``: keep the body unread, following redirects); answer: Zoom's."""

    request: httpx.Request
    stream: bool = False


@dataclass(frozen=True)
class Discard:
    """Read an unwanted answer's body (for its error) and close it."""

    response: httpx.Response


@dataclass(frozen=True)
class Wait:
    """Sleep ``seconds``."""

    seconds: float


def exchange(
    attempts: Attempts,
    request: httpx.Request,
    *,
    expected: tuple[int, ...] = DEFAULT_EXPECTED,
    stream: bool = False,
    learn: Callable[[httpx.Response], None] = lambda response: None,
) -> Flow[httpx.Response]:
    """One logical request over its sends: Zoom's answer with an ``expected`` status, or the
    policy's error; ``learn`` sees 429s. Each send is paced by :class:`ZoomAuth`, once its token
    is there."""
    method, path = request.method, request.url.path
    while True:
        try:
            response: httpx.Response = yield Send(request, stream)
        except httpx.TransportError as exc:
            step = attempts.after_transport_error(exc)
        else:
            logger.debug(
                "Zoom %s %s -> %s (tracking id %s)",
                method,
                path,
                response.status_code,
                response.headers.get("x-zm-trackingid", "none"),
            )
            if response.status_code in expected:
                return response
            if response.status_code == 429:
                learn(response)
            yield Discard(response)
            step = attempts.after_response(response, expected)
        if step.kind == "fail":
            assert step.error is not None
            raise step.error
        logger.warning("Zoom %s %s: %s; retrying in %.2f s", method, path, step.reason, step.delay)
        yield Wait(step.delay)


def perform(http: httpx.Client, need: Send | Discard | Wait) -> httpx.Response | None:
    """Carry out a request of :func:`exchange` with a sync client."""
    if isinstance(need, Send):
        return http.send(need.request, stream=need.stream, follow_redirects=need.stream)
    if isinstance(need, Discard):
        need.response.read()
        need.response.close()
    else:
        time.sleep(need.seconds)
    return None


async def aperform(http: httpx.AsyncClient, need: Send | Discard | Wait) -> httpx.Response | None:
    """Carry out a request of :func:`exchange` with an async client."""
    match need:
        case Send(request=request, stream=stream):
            return await http.send(request, stream=stream, follow_redirects=stream)
        case Discard(response=response):
            await response.aread()
            await response.aclose()
        case Wait(seconds=seconds):
            await asyncio.sleep(seconds)
    return None


# ---- the clients' shared state ------------------------------------------------------------------
class ClientCore(ABC, Generic[TransportT]):
    """State and helpers of a Zoom client; the sync and async classes only drive :meth:`_call`."""

    _http: httpx.Client | httpx.AsyncClient

    def __init__(
        self,
        api_base_url: str,
        tokens: TokenProvider,
        *,
        transport: TransportT | None = None,
        **settings: Unpack[ClientSettings],
    ) -> None:
        """``transport``: httpx's, for tests or proxies (the sync client's default reads large
        blocks, see ``client/_transport.py``)."""
        self.api_base_url = api_base_url.rstrip("/")
        self._api_url = httpx.URL(self.api_base_url)
        self.tokens = tokens
        self._granted_scopes = settings.get("granted_scopes")
        self.policy = settings.get("policy") or RetryPolicy()
        self.account_id = settings.get("account_id")
        self._account_lookup = settings.get("account_lookup")
        self._me: str | None = None
        if self.account_id and self.policy.rate_plan and self._shares_account():
            BUDGETS.prepare(self.account_id, self.policy.rate_plan)
        self._http = self._open(self._client_kwargs(), transport)

    @abstractmethod
    def _open(
        self, kwargs: dict[str, Any], transport: TransportT | None
    ) -> httpx.Client | httpx.AsyncClient:
        """The httpx client doing this client's I/O."""

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
            "auth": ZoomAuth(self.tokens, self.policy.max_token_retries),
        }

    def _call(
        self, method: str, path: str, options: RequestOptions, *, stream: bool = False
    ) -> Flow[httpx.Response]:
        """One request as a flow: checked, then sent under the policy (see :func:`exchange`)."""
        absolute = _absolute(path)  # parsed once: checked, then sent as it is
        attempts = self._prepare(method, path, options.get("operation"), absolute)
        self._count_daily(attempts, path)
        request = self._http.build_request(
            method,
            path.lstrip("/") if absolute is None else absolute,
            params=options.get("params"),
            json=options.get("json"),
            headers=options.get("headers"),
        )
        # every send, after a 401 too, is paced by ZoomAuth once it holds the token
        request.extensions[PACE_EXTENSION] = lambda: self._pace(attempts)
        return exchange(
            attempts,
            request,
            expected=options.get("expected", (200, 206) if stream else DEFAULT_EXPECTED),
            stream=stream,
            learn=self._learn_rate,
        )

    def _prepare(
        self,
        method: str,
        path: str,
        operation: str | Operation | None,
        absolute: httpx.URL | None,
    ) -> Attempts:
        """Check the destination and the scopes before sending; start the attempt bookkeeping.

        An absolute URL (a download; ``absolute``, else ``None`` for an API path) must be one the
        connection's token may go to (:mod:`prefect_zoom.client.origins`); anything else raises
        ``ZoomForeignHostError`` before a token is even fetched.
        """
        if absolute is not None:
            check_token_destination(absolute, self._api_url)
        op: Operation | None = operation_named(operation)
        reconnect = self.tokens.reconnect_command
        check_scopes(op, path, self.granted_scopes, reconnect_command=reconnect)
        return Attempts(self.policy, method, operation=op, reconnect_command=reconnect)

    def _shares_account(self) -> bool:
        """Whether this client's requests count in the account's limits on the Prefect API."""
        return bool(self.account_id and self._budget_applies())

    def _budget_applies(self) -> bool:
        """Whether the account's limits are kept on a Prefect API (the budget is on)."""
        return bool(self.policy.account_budget and prefect_api_configured())

    def _budget_account(self) -> str | None:
        """The account whose budget this client's requests spend, looked up on first need
        (``None``: the budget is off, or no account is known)."""
        if self.account_id is None and self._account_lookup is not None:
            if not self._budget_applies():
                return None
            account = self._account_lookup()
            self._me = account.user_id  # before the id: a thread that sees the id sees it too
            self.account_id = account.account_id
            if self.policy.rate_plan:
                BUDGETS.prepare(self.account_id, self.policy.rate_plan)
        return self.account_id if self._shares_account() else None

    def _pace(self, attempts: Attempts) -> Iterator[float]:
        """The waits before sending a request so its label stays under Zoom's limit: a slot of
        the account's budget first (every process), then this process's spacing.

        Downloads count too, as their catalog label (Light; docs/zoom-behaviour.md, "REST API:
        rate limits", says why though Zoom does not document it). None for requests
        without an operation and labels with no plan and nothing learned yet (see
        :mod:`prefect_zoom.client.pacing`).
        """
        if attempts.operation is None:
            return
        label = attempts.operation.label
        pacer = PACERS.get(self.api_base_url, label, self.policy.rate_plan)
        if pacer is None:
            return
        account = self._budget_account()
        if account and (budget := BUDGETS.get(account, label, pacer.rate)) is not None:
            yield from budget.waits()
        if (wait := pacer.reserve()) > 0:
            yield wait

    def _count_daily(self, attempts: Attempts, path: str) -> None:
        """Count a meeting create against its host's daily cap, across every process (or
        refuse it when the cap is spent, see :mod:`prefect_zoom.client.daily`)."""
        op = attempts.operation
        if op is None or not op.counts_toward_daily_meeting_cap or attempts.method != "POST":
            return
        self.count_meeting_write(path.strip("/").split("/")[1], method="POST", path=path)

    def counts_meeting_writes(self) -> bool:
        """Whether meeting creates and updates are counted per host across every process (the
        account's budget applies): a caller learns an update's host only when they are."""
        return self._budget_account() is not None

    def count_meeting_write(self, host: str, *, method: str, path: str) -> None:
        """Count one meeting create or update by ``host`` (an id, an email, or ``me``: the
        connection's own user when known) in the host's daily cap, across every process; raise
        :class:`~prefect_zoom.exceptions.ZoomRateLimitError` when it is spent, before sending.
        Nothing when the budget does not apply."""
        if account := self._budget_account():
            if host.lower() == "me" and self._me:
                host = self._me
            DAILY_CAP.count(account, host, method=method, path=path)

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
    def _json(response: httpx.Response) -> Any:
        """A JSON body (``None`` when the body is empty)."""
        return response.json() if response.content else None


def _absolute(path: str) -> httpx.URL | None:
    """The URL when ``path`` has a scheme (any case, any scheme), else ``None``: an API path,
    which joins the API base (told apart without parsing it: a request's path is parsed once)."""
    if _SCHEME.match(path) is None:
        return None
    url = httpx.URL(path)
    return url if url.scheme else None


class Pager:
    """Follows ``next_page_token`` until it is empty; stops (with a warning) on a repeated token."""

    def __init__(self, path: str, items_key: str | None, **options: Unpack[PageOptions]) -> None:
        """``items_key``: the page's key of the items (``None``: its only list)."""
        self.path = path
        self.items_key = items_key
        self.operation = options.get("operation")
        self.params = dict(options.get("params") or {})
        self.params["page_size"] = max(
            1, min(options.get("page_size", MAX_PAGE_SIZE), MAX_PAGE_SIZE)
        )
        self._token: str | None = None
        self._seen: set[str] = set()
        self._done = False

    def next_query(self) -> RequestOptions | None:
        """Operation and query of the next page, or ``None`` when there is none."""
        if self._done:
            return None
        params = dict(self.params)
        if self._token:
            params["next_page_token"] = self._token
        return {"operation": self.operation, "params": params}

    def items(self, fetch: Callable[[RequestOptions], Any]) -> Iterator[dict[str, Any]]:
        """Every item, each page got with ``fetch(query)`` (the sync client's loop)."""
        while (query := self.next_query()) is not None:
            yield from self.take(fetch(query))

    def take(self, page: Any) -> list[dict[str, Any]]:
        """The items of a page; remembers where the next one starts."""
        data = page if isinstance(page, dict) else {}
        items = data.get(self.items_key or _only_list(data, self.path)) or []
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


def _only_list(page: dict[str, Any], path: str) -> str:
    """The key of a page's only list, for a pager not told its items key."""
    lists = sorted(key for key, value in page.items() if isinstance(value, list))
    if len(lists) != 1:
        raise ZoomInputError(
            "items_key",
            f"a page of {path} holds {len(lists)} lists ({', '.join(lists) or 'none'})",
            "Pass the name of the list to collect as items_key.",
        )
    return lists[0]
