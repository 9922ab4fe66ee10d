"""Running a sans-I/O flow: a generator that yields what it needs done and gets the answers back.

The rules (token renewal, retries) are written once as such generators; a thin sync shell and a
thin async shell each do the I/O a request names and hand the answer, or the exception, back with
:class:`Stepper`. This is how ``httpx.Auth`` flows work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Flow = Generator[Any, Any, T]
"""Yields requests, receives their answers (or has their exception thrown in), returns a ``T``."""


class Stepper(Generic[T]):
    """Moves a flow on: the next request, given the answer to the last one."""

    def __init__(self, flow: Flow[T]) -> None:
        self._flow = flow
        self._answer: Any = None
        self._error: BaseException | None = None
        self.result: T

    def next(self) -> Any:
        """The flow's next request; ``None`` once it returned (its value is in ``result``).

        Raises what the flow raises (an error thrown in and not handled, or its own).
        """
        error, self._error = self._error, None
        try:
            return self._flow.throw(error) if error is not None else self._flow.send(self._answer)
        except StopIteration as done:
            self.result = done.value
            return None

    def answer(self, value: Any) -> None:
        """What the last request gave."""
        self._answer = value

    def fail(self, error: BaseException) -> None:
        """What the last request raised: thrown into the flow at its next step."""
        self._error = error


def run(flow: Flow[T], do: Callable[[Any], Any]) -> T:
    """The sync shell: ``do`` each request of ``flow`` in this thread; the flow's value."""
    step = Stepper(flow)
    while (request := step.next()) is not None:
        try:
            step.answer(do(request))
        except BaseException as exc:  # thrown into the flow: its own handlers decide
            step.fail(exc)
    return step.result


async def arun(flow: Flow[T], do: Callable[[Any], Awaitable[Any]]) -> T:
    """The async shell: await ``do`` for each request of ``flow``; the flow's value."""
    step = Stepper(flow)
    while (request := step.next()) is not None:
        try:
            step.answer(await do(request))
        except BaseException as exc:  # a cancellation too: the flow's ``finally`` runs
            step.fail(exc)
    return step.result
