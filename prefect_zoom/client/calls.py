"""Send a catalog operation: the operation gives method, path and scopes, the caller its values.

``call(zoom, OPERATIONS["get_meeting"].bind(meeting_id=85012345678))`` sends what the catalog
says (:meth:`prefect_zoom.catalog.Operation.bind` builds the path), checked against the
connection's scopes and paced by the operation's rate-limit label like every request of the
client.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from prefect_zoom.catalog import BoundOperation
from prefect_zoom.client.policy import DEFAULT_EXPECTED
from prefect_zoom.client.sync import ZoomClient


def call(
    zoom: ZoomClient,
    bound: BoundOperation,
    *,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    expected: tuple[int, ...] = DEFAULT_EXPECTED,
) -> httpx.Response:
    """Send the bound operation (with ``params`` and a ``json`` body); Zoom's answer."""
    return zoom.request(
        bound.method,
        bound.path,
        operation=bound.operation,
        params=params,
        json=json,
        expected=expected,
    )


def call_json(
    zoom: ZoomClient,
    bound: BoundOperation,
    *,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """The JSON body of a ``GET`` operation (``None`` when the body is empty)."""
    response = call(zoom, bound, params=params)
    return response.json() if response.content else None


def call_pages(
    zoom: ZoomClient,
    bound: BoundOperation,
    items_key: str | None,
    params: Mapping[str, Any] | None = None,
    *,
    page_size: int = 300,
) -> Iterator[dict[str, Any]]:
    """Every item of a paged list operation, following ``next_page_token`` (``items_key``
    ``None``: the items are the page's only list)."""
    return zoom.paginate(
        bound.path, items_key, params=params, operation=bound.operation, page_size=page_size
    )


__all__ = ["call", "call_json", "call_pages"]
