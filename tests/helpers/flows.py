"""Calling the async archive flows from synchronous tests and scripts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def run_async(call: Awaitable[T]) -> T:
    """``asyncio.run`` for any awaitable.

    Prefect types an async flow called with ``return_state=True`` as ``Awaitable[State]``, which
    ``asyncio.run`` (it takes a coroutine) does not accept.
    """

    async def wait() -> T:
        return await call

    return asyncio.run(wait())
