"""A raw request: any path of Zoom's API, for endpoints without a task of their own.

It goes through the same client as every task (token renewal, retries, pacing, paging). The
path must stay inside the API: absolute URLs, other hosts and ``.``/``..`` segments are refused
before any request. When the method and path match a catalog operation
(:data:`prefect_zoom.catalog.OPERATIONS`), that operation's scopes are checked and its rate label
paces the request; any other path is paced as :data:`DEFAULT_RAW_LABEL` and its scopes are
unknown, so a missing scope is Zoom's own answer (400, code 4711).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias
from urllib.parse import unquote

import httpx
from prefect import Task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from prefect_zoom.catalog import BoundOperation, Operation, RateLabel, operation_for
from prefect_zoom.client._base import MAX_PAGE_SIZE
from prefect_zoom.client.calls import call, call_pages
from prefect_zoom.client.policy import IDEMPOTENT_METHODS, NEVER_SENT
from prefect_zoom.exceptions import ZoomInputError, ZoomServerError
from prefect_zoom.tasks._common import (
    CredentialsLike,
    check_page_size,
    client_for,
    is_transient,
    run_logger,
    zoom_task,
)

JSONAnswer: TypeAlias = dict[str, Any] | list[Any] | None
"""What a raw request returns: Zoom's JSON object, the items of every page, or nothing."""

RAW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_RAW_LABEL = RateLabel.MEDIUM
"""The rate label of a path the catalog does not know (``docs/zoom-behaviour.md``, "Rate labels
of the whole API"): a Light endpoint paced as Medium is only spaced a little more, and a Heavy
one's first per-second 429 names its label, which is paced from then on."""


def check_method(method: Any) -> str:
    """One of Zoom's REST methods, upper case."""
    if not isinstance(method, str) or method.strip().upper() not in RAW_METHODS:
        raise ZoomInputError(
            "method",
            f"{method!r} is not one of {', '.join(RAW_METHODS)}",
            "Pass the HTTP method Zoom's API reference gives for the endpoint.",
        )
    return method.strip().upper()


def check_api_path(path: Any) -> str:
    """A path relative to the API base (``/users/me``), refused if it could leave the API."""
    fix = "Pass the path relative to the API base, e.g. '/users/me'; nothing was sent to Zoom."
    if not isinstance(path, str) or not path.strip():
        raise ZoomInputError("path", f"expected an API path, got {path!r}", fix)
    text = path.strip()
    if any(char in text for char in "\\?#") or any(ord(char) < 0x21 for char in text):
        raise ZoomInputError(
            "path",
            f"{text!r} holds a backslash, a query, a fragment or a blank",
            "Pass the query as `params={...}` and the path alone, e.g. '/users'.",
        )
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise ZoomInputError("path", f"{text!r} is not a URL path ({error})", fix) from None
    if url.scheme or url.host or text.startswith("//"):
        raise ZoomInputError(
            "path", f"{text!r} is an absolute URL; only paths of Zoom's API are sent", fix
        )
    segments = text.strip("/").split("/")
    if any(unquote(segment) in ("", ".", "..") for segment in segments):
        raise ZoomInputError(
            "path", f"{text!r} has an empty, '.' or '..' segment that would leave the endpoint", fix
        )
    return "/" + "/".join(segments)


def raw_operation(method: str, path: str) -> Operation:
    """The catalog operation the request matches, else one with no scopes and the default label."""
    return operation_for(method, path) or Operation(
        name="zoom_request",
        method=method,
        path=path,
        label=DEFAULT_RAW_LABEL,
        classic_scopes=(),
        granular_scopes=(),
    )


def retry_if_zoom_did_not_act(_task: Task[Any, Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry a failed raw request on transient errors, but a ``POST`` only when Zoom surely did
    not act (a per-second 429, or no connection made): its 5xx may follow a created object."""
    try:
        state.result()
    except ZoomServerError as error:
        if (error.method or "").upper() in IDEMPOTENT_METHODS:
            return True
        return error.status is None and isinstance(error.__cause__, NEVER_SENT)
    except Exception as error:
        return is_transient(error)
    return False


@zoom_task(None, name="Zoom: request", tags=("raw",), retry_condition=retry_if_zoom_did_not_act)
def zoom_request(
    credentials: CredentialsLike,
    method: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    paginate: bool = False,
    items_key: str | None = None,
) -> JSONAnswer:
    """Send any request to Zoom's API and return its JSON (``None`` for an empty answer).

    ``path`` is relative to the API base (``/users/me``); ``params`` is the query, ``json`` the
    body. With ``paginate=True`` (GET only) every page is followed and the items of all pages are
    returned: those under ``items_key``, or the page's only list when it is not given.

    The scopes needed are Zoom's for that endpoint: checked before sending only when the method
    and path match an operation of the pack's catalog, otherwise unknown (Zoom answers 400, code
    4711, naming them). Safe to run again as far as the endpoint is: the client retries only
    idempotent methods, and the task retries a ``POST`` only when Zoom surely did not act.
    """
    verb = check_method(method)
    api_path = check_api_path(path)
    if paginate and verb != "GET":
        raise ZoomInputError(
            "paginate", f"only a GET can be paged, not {verb}", "Pass paginate=False."
        )
    if params is not None and not isinstance(params, Mapping):
        raise ZoomInputError(
            "params", f"expected a mapping, got {type(params).__name__}", "Pass a dict or None."
        )
    bound = BoundOperation(raw_operation(verb, api_path), api_path)
    query = dict(params or {})
    with client_for(credentials) as zoom:
        if paginate:
            size = check_page_size(query.pop("page_size", MAX_PAGE_SIZE))
            result: JSONAnswer = list(call_pages(zoom, bound, items_key, query, page_size=size))
        else:
            response = call(zoom, bound, params=query or None, json=json)
            result = response.json() if response.content else None
    run_logger().info("Zoom %s %s (%s) answered", verb, api_path, bound.operation.name)
    return result


__all__ = ["DEFAULT_RAW_LABEL", "zoom_request"]
