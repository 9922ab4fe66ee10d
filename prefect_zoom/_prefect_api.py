"""The Prefect API clients the pack's own machinery uses (connection locks, token saves, rate
budgets): on the process's one TLS context for the Prefect API, and, for calls the pack asks
again itself, without Prefect's client's own retries and sleeps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from prefect_zoom._tls import prefect_api_context

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient


def prefect_client() -> SyncPrefectClient:
    """Prefect's sync client: the one of the current flow or task run when there is one, else a
    new client on the process's TLS context for the Prefect API (see
    :func:`prefect_zoom._tls.prefect_api_context`; Prefect would build one per client)."""
    from prefect.client.orchestration import get_client
    from prefect.context import SyncClientContext

    context = SyncClientContext.get()
    if context is not None and context.client is not None:
        return get_client(sync_client=True)
    return get_client(sync_client=True, httpx_settings={"verify": prefect_api_context()})


def asking_client() -> SyncPrefectClient:
    """A new Prefect client (enter it with ``with``) for a call its caller asks again itself,
    with its own short wait: a lock or a rate limit polled in a loop. A 5xx answer is raised at
    once (:class:`httpx.HTTPStatusError`).

    Prefect's client retries a 5xx itself, and after a 503 (SQLite busy under many writers) it
    sleeps about 2 s, then 4, 8, ..., even after its last try, before it hands the answer back.
    Measured under 100 cold tasks: those sleeps were 95 % of the account budget's time asking,
    and held a connection's first token back by 1.8 s.
    """
    from prefect.client.orchestration import get_client

    settings = {"verify": prefect_api_context(), "event_hooks": {"response": [_raise_5xx]}}
    return get_client(sync_client=True, httpx_settings=settings)


def _raise_5xx(response: httpx.Response) -> None:
    if response.status_code >= 500:
        response.read()  # the connection goes back to the pool
        raise httpx.HTTPStatusError(
            f"Prefect API answered {response.status_code}",
            request=response.request,
            response=response,
        )
