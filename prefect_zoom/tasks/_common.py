"""What every Zoom task shares: credentials by block or name, retries on transient errors only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeAlias, TypeVar

import httpx
from prefect import Task, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import TaskRun
from prefect.exceptions import MissingContextError
from prefect.states import State

from prefect_zoom.blocks import ZoomOAuthCredentials, ZoomServerToServerCredentials
from prefect_zoom.catalog import OPERATIONS, Operation
from prefect_zoom.client import ZoomClient
from prefect_zoom.client._base import MAX_PAGE_SIZE
from prefect_zoom.connections import CONNECTIONS, ZoomCredentials
from prefect_zoom.exceptions import ZoomInputError, ZoomRateLimitError, ZoomServerError

CredentialsLike: TypeAlias = ZoomCredentials | str
"""A credentials block, or the name of a saved one (preferred in flow parameters: no secrets)."""

P = ParamSpec("P")
R = TypeVar("R")


def load_credentials(credentials: CredentialsLike) -> ZoomCredentials:
    """The block itself, or the saved block of that name (OAuth or Server-to-Server), as this
    process's shared connection of that name holds it (:mod:`prefect_zoom.connections`)."""
    if isinstance(credentials, (ZoomOAuthCredentials, ZoomServerToServerCredentials)):
        return credentials
    return CONNECTIONS.get(checked_name(credentials)).block


def checked_name(credentials: object) -> str:
    """``credentials`` as a block name, else :class:`ZoomInputError` saying what to pass."""
    if isinstance(credentials, str) and not credentials.strip():
        raise ZoomInputError(
            "credentials",
            "the connection block name is empty",
            "Pass the name of a saved Zoom connection block. A deployment made while "
            "ZOOM_CREDENTIALS_BLOCK was not set has an empty credentials_block parameter: set the "
            "variable and deploy again (or edit the parameter in the Prefect UI).",
        )
    if not isinstance(credentials, str):
        raise ZoomInputError(
            "credentials",
            f"expected a Zoom credentials block or a block name, got {type(credentials).__name__}",
            "Pass the name of a saved ZoomOAuthCredentials or ZoomServerToServerCredentials block.",
        )
    return credentials


def check_page_size(page_size: int) -> int:
    """``page_size`` as Zoom accepts it (1 to 300), else :class:`ZoomInputError` naming it."""
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ZoomInputError(
            "page_size", f"expected a whole number, got {page_size!r}", "Pass 1 to 300."
        )
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ZoomInputError(
            "page_size",
            f"{page_size} is outside Zoom's range of 1 to {MAX_PAGE_SIZE}",
            f"Pass 1 to {MAX_PAGE_SIZE} (every page is followed, so {MAX_PAGE_SIZE} is fastest).",
        )
    return page_size


_fallback_logger = logging.getLogger("prefect_zoom.tasks")


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger inside a flow or task run, else the package's logger."""
    try:
        return get_run_logger()
    except MissingContextError:
        return _fallback_logger


def client_for(credentials: CredentialsLike) -> ZoomClient:
    """A client on the connection (close it, or use it as a context manager). By name, it
    shares the process's token manager and connection pool of that name."""
    if isinstance(credentials, (ZoomOAuthCredentials, ZoomServerToServerCredentials)):
        return credentials.get_client()
    return CONNECTIONS.get(checked_name(credentials)).client()


def is_transient(error: BaseException | None) -> bool:
    """True for failures worth another try: 5xx, dropped connections, per-second rate limits."""
    if isinstance(error, ZoomRateLimitError):
        return error.limit_type != "Daily-limit"
    return isinstance(error, (ZoomServerError, httpx.TransportError))


def retry_on_transient_errors(_task: Task[Any, Any], _run: TaskRun, state: State[Any]) -> bool:
    """Prefect ``retry_condition_fn``: retry a task only when it failed on a transient error."""
    try:
        state.result()
    except Exception as error:
        return is_transient(error)
    return False


def zoom_task(
    operation: str | None,
    *,
    name: str,
    tags: tuple[str, ...] = (),
    retries: int = 2,
    retry_condition: Callable[[Task[Any, Any], TaskRun, State[Any]], bool] = (
        retry_on_transient_errors
    ),
) -> Callable[[Callable[P, R]], Task[P, R]]:
    """Declare a Zoom activity as a Prefect task with the pack's defaults.

    Never cached (Zoom's data changes, and mutations must run every time); retried only on
    transient errors (``retry_condition``); tagged ``zoom`` plus the resource. The operation is
    recorded on the function (``required_operation``); :func:`declared_operation` reads it back
    for ``check`` and the docs.
    """
    op: Operation | None = OPERATIONS[operation] if operation else None

    def decorate(fn: Callable[P, R]) -> Task[P, R]:
        fn.required_operation = op  # type: ignore[attr-defined]  # read by declared_operation
        return task(
            name=name,
            tags={"zoom", *tags},
            cache_policy=NONE,
            retries=retries,
            retry_delay_seconds=[2.0, 10.0, 30.0][: max(retries, 1)],
            retry_condition_fn=retry_condition,
        )(fn)

    return decorate


def declared_operation(task: object) -> Operation | None:
    """The catalog operation a task made by :func:`zoom_task` declares (``None`` for anything
    else)."""
    if not isinstance(task, Task):
        return None
    operation = getattr(task.fn, "required_operation", None)
    return operation if isinstance(operation, Operation) else None
