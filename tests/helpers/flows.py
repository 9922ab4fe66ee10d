"""Calling the async archive flows from synchronous tests and scripts; how a task run ended."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import State

from prefect_zoom.exceptions import ZoomInputError

T = TypeVar("T")


def run_async(call: Awaitable[T]) -> T:
    """``asyncio.run`` for any awaitable.

    Prefect types an async flow called with ``return_state=True`` as ``Awaitable[State]``, which
    ``asyncio.run`` (it takes a coroutine) does not accept.
    """

    async def wait() -> T:
        return await call

    return asyncio.run(wait())


def run_count(state: State[Any]) -> int:
    """How many times the task run of ``state`` ran (1: never retried)."""
    with get_client(sync_client=True) as client:
        run = client.read_task_run(state.state_details.task_run_id)  # type: ignore[arg-type]
    return run.run_count


def failure_and_runs(state: State[Any]) -> tuple[BaseException, int]:
    """A failed task's exception and how many times the task ran (1: never retried)."""
    error = state.result(raise_on_failure=False)
    assert isinstance(error, BaseException), state
    return error, run_count(state)


def refused_in_a_flow(credentials: str, call: Callable[[str], Any]) -> ZoomInputError:
    """The ``ZoomInputError`` that ``call(credentials)`` raises inside a flow run."""

    @flow
    def refused(credentials: str) -> ZoomInputError:
        try:
            call(credentials)
        except ZoomInputError as error:
            return error
        raise AssertionError("the call was not refused")

    return refused(credentials)
