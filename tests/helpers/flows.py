"""Calling the async archive flows from synchronous tests and scripts; how a task run ended."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
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


RECORDED_WITHIN_SECONDS = 60.0
"""How long the Prefect API may take to record a task run's last state (it records the task
runs' events as they arrive, after the task has ended)."""


def run_count(state: State[Any]) -> int:
    """How many times the task run of ``state`` ran (1: never retried), once the Prefect API has
    recorded that final state."""
    deadline = time.monotonic() + RECORDED_WITHIN_SECONDS
    with get_client(sync_client=True) as client:
        while True:
            try:
                run = client.read_task_run(state.state_details.task_run_id)  # type: ignore[arg-type]
            except ObjectNotFound:  # not recorded at all yet
                run = None
            recorded = run is not None and run.state is not None and run.state.type == state.type
            if run is not None and (recorded or time.monotonic() > deadline):
                return run.run_count
            if time.monotonic() > deadline:
                raise AssertionError(f"the Prefect API never recorded the task run of {state}")
            time.sleep(0.05)


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
