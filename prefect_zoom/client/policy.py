"""What to do after each answer (or network failure): one policy for the sync and async clients
(which operation a request is, and whether its scopes allow it, is :mod:`prefect_zoom.catalog`
and :mod:`prefect_zoom.client.scopes`).

* ``401`` (Zoom's code 124): the clients' ``httpx.Auth``
  (:class:`~prefect_zoom.auth.httpx_auth.ZoomAuth`) lets the connection adopt or renew its token
  and sends again, up to ``max_token_retries`` times; a 401 that still comes back is raised.
* ``429``: a ``Daily-limit`` is raised at once with its reset time; a per-second limit is waited
  out as ``Retry-After`` (ISO date-time or seconds) says, jittered, if the wait is short enough.
* ``5xx`` and network errors: retried with exponential backoff and full jitter, only for methods
  that are safe to repeat: GET, HEAD, OPTIONS, PUT, DELETE and PATCH. Zoom's PATCH sets fields to
  the values sent, so sending it twice leaves the same meeting (it does count twice toward the
  100-a-day meeting update cap). POST is retried only when the connection was never made.
* Pacing (:mod:`prefect_zoom.client.pacing`): with ``rate_plan``, or once a 429 told the limit,
  requests are spaced to fit Zoom's per-second limit of their label instead of running into it;
  with ``account_budget``, across every process of the account (:mod:`prefect_zoom.client.budget`).
* Everything else (400 with 4711 missing scopes, ``invalid_grant``, 404, validation errors) is
  raised at once as the matching :mod:`prefect_zoom.exceptions` error.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import httpx

from prefect_zoom.catalog import Operation
from prefect_zoom.client.errors import error_from_response, parse_retry_after
from prefect_zoom.client.limits import budget_from_env
from prefect_zoom.client.pacing import RatePlan, plan_from_env
from prefect_zoom.exceptions import ZoomAPIError, ZoomServerError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
DEFAULT_EXPECTED: tuple[int, ...] = (200, 201, 204)

_jitter = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry policy. The defaults suit Zoom's limits."""

    max_attempts: int = 5
    """Sends of one request when answers are 429, 5xx or network errors."""
    max_token_retries: int = 3
    """Extra sends after a 401 code 124 (each after adopting or renewing the token)."""
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    max_rate_limit_wait: float = 60.0
    """Wait out a per-second limit only when it resets within this many seconds."""
    rate_limit_jitter: float = 0.25
    retry_methods: frozenset[str] = IDEMPOTENT_METHODS
    rate_plan: RatePlan | None = field(default_factory=plan_from_env)
    """Pace API requests to this plan's per-second limits (``"pro"``, ``"business"``); the
    default comes from ``PREFECT_ZOOM_RATE_PLAN``. See :mod:`prefect_zoom.client.pacing`."""
    learn_rate_limits: bool = True
    """After a per-second 429 naming its label and limit, pace that label to it."""
    account_budget: bool = field(default_factory=budget_from_env)
    """Share the account's rate limits and daily meeting cap with every process on the Prefect
    API (:mod:`prefect_zoom.client.budget`); the default comes from
    ``PREFECT_ZOOM_ACCOUNT_BUDGET`` (on unless ``off``)."""

    def backoff(self, retry: int) -> float:
        """Full jitter: uniform between 0 and ``min(cap, base * 2**retry)``."""
        return _jitter.uniform(0, min(self.backoff_cap, self.backoff_base * 2**retry))


@dataclass
class Step:
    """The next move: done, retry after ``delay``, or raise."""

    kind: Literal["done", "retry", "fail"]
    delay: float = 0.0
    error: BaseException | None = None
    reason: str = ""


class Attempts:
    """The state of one logical request over its sends, and the policy's decisions."""

    def __init__(
        self,
        policy: RetryPolicy,
        method: str,
        *,
        operation: Operation | None = None,
        reconnect_command: str | None = None,
    ) -> None:
        self.policy = policy
        self.method = method.upper()
        self.operation = operation
        self.reconnect_command = reconnect_command
        self.retries = 0

    def _error(self, response: httpx.Response) -> ZoomAPIError:
        return error_from_response(response, self.operation, self.reconnect_command)

    def _retry_or_fail(self, delay: float, error: BaseException, reason: str) -> Step:
        if self.retries + 1 >= self.policy.max_attempts:
            return Step("fail", error=error)
        self.retries += 1
        return Step("retry", delay=delay, reason=reason)

    def after_response(
        self, response: httpx.Response, expected: tuple[int, ...] = DEFAULT_EXPECTED
    ) -> Step:
        """Decide after an answer whose body has been read."""
        status = response.status_code
        if status in expected:
            return Step("done")
        if status == 429:
            return self._rate_limited(response)
        if status >= 500:
            error = self._error(response)
            if self.method not in self.policy.retry_methods:
                return Step("fail", error=error)
            return self._retry_or_fail(self.policy.backoff(self.retries), error, f"HTTP {status}")
        if status < 400:
            return Step(
                "fail",
                error=ZoomAPIError(
                    f"Unexpected HTTP {status} (expected {', '.join(map(str, expected))}).",
                    status=status,
                    tracking_id=response.headers.get("x-zm-trackingid"),
                    method=self.method,
                    path=response.request.url.path,
                ),
            )
        return Step("fail", error=self._error(response))

    def _rate_limited(self, response: httpx.Response) -> Step:
        error = self._error(response)
        kind = (response.headers.get("x-ratelimit-type") or "").lower()
        if kind.startswith("daily"):
            return Step("fail", error=error)
        reset_at = parse_retry_after(response.headers.get("retry-after"))
        if reset_at is None:
            wait = self.policy.backoff(self.retries) + self.policy.backoff_base
        else:
            wait = max(0.0, (reset_at - datetime.now(UTC)).total_seconds())
        if wait > self.policy.max_rate_limit_wait:
            return Step("fail", error=error)
        delay = wait + _jitter.uniform(0, self.policy.rate_limit_jitter)
        return self._retry_or_fail(delay, error, f"rate limited ({kind or 'unknown'})")

    def after_transport_error(self, exc: httpx.TransportError) -> Step:
        """Decide after a network failure (no answer, or a cut answer)."""
        error = ZoomServerError(
            f"Zoom could not be reached: {type(exc).__name__}: {exc}",
            method=self.method,
        )
        error.__cause__ = exc
        if self.method not in self.policy.retry_methods and not isinstance(exc, NEVER_SENT):
            return Step("fail", error=error)
        return self._retry_or_fail(self.policy.backoff(self.retries), error, type(exc).__name__)
