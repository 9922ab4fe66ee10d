"""Faults on purpose: 5xx answers, dropped connections and slow answers, by configured share."""

from __future__ import annotations

import asyncio
import json
import logging
import random

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoom_emulator.models.errors import tracking_id
from zoom_emulator.models.state import EmulatorState

FAULTY_PREFIXES = ("/v2/", "/oauth/token", "/rec/")


class InjectedFault(Exception):
    """Raised mid-answer to make the server close the connection."""


class _HideInjectedFaults(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedFault) and not isinstance(
            getattr(exc, "__cause__", None), InjectedFault
        )


def hide_injected_fault_tracebacks() -> None:
    """Keep uvicorn from printing a traceback for each connection dropped on purpose."""
    for name in ("uvicorn.error", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _HideInjectedFaults) for f in logger.filters):
            logger.addFilter(_HideInjectedFaults())


class FaultMiddleware:
    """ASGI middleware rolling the fault dice for each API, token and download request."""

    def __init__(self, app: ASGIApp, state: EmulatorState, dice: random.Random) -> None:
        self.app = app
        self.state = state
        self.dice = dice

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(FAULTY_PREFIXES):
            await self.app(scope, receive, send)
            return
        faults = self.state.config.faults
        counters = self.state.counters
        if faults.slow_rate and self.dice.random() < faults.slow_rate:
            counters["fault slow"] += 1
            await asyncio.sleep(faults.slow_seconds)
        if faults.error_rate and self.dice.random() < faults.error_rate:
            counters["fault 5xx"] += 1
            status = self.dice.choice([500, 502, 503, 504])
            body = json.dumps({"code": status, "message": "Internal Server Error"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"x-zm-trackingid", tracking_id().encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if faults.drop_rate and self.dice.random() < faults.drop_rate:
            counters["fault drop"] += 1
            if scope["path"].startswith("/rec/"):
                # A file answer keeps its real headers; the connection drops after the first bytes.
                await self.app(scope, receive, _dropping_after_first_body(send))
                return
            await _drop(send)
        if (
            faults.lost_write_rate
            and scope["method"] != "GET"
            and scope["path"].startswith("/v2/")
            and self.dice.random() < faults.lost_write_rate
        ):
            counters["fault lost write"] += 1
            await self.app(scope, receive, _discard)
            await _drop(send)
        await self.app(scope, receive, send)


async def _discard(message: Message) -> None:
    """A ``send`` that loses every part of the answer."""


async def _drop(send: Send) -> None:
    """Start an answer, then drop the connection in its middle."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"code":', "more_body": True})
    raise InjectedFault("connection dropped on purpose")


def _dropping_after_first_body(send: Send) -> Send:
    """A ``send`` that passes the headers and one body piece on, then drops the connection."""
    sent_body = False

    async def dropping(message: Message) -> None:
        nonlocal sent_body
        if message["type"] == "http.response.body":
            if sent_body and message.get("more_body", False):
                raise InjectedFault("connection dropped on purpose")
            sent_body = True
        await send(message)

    return dropping


class CounterMiddleware:
    """Counts every answer by method, route template and status: ``GET /v2/users/{userId} 200``."""

    def __init__(self, app: ASGIApp, state: EmulatorState, prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.state = state
        self.prefixes = prefixes  # router prefixes: route templates are given without them

    def _template(self, scope: Scope) -> str:
        template = getattr(scope.get("route"), "path", None)
        if template is None:
            return str(scope["path"])
        prefix = next((p for p in self.prefixes if scope["path"].startswith(p + "/")), "")
        return template if template.startswith(prefix + "/") else prefix + template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        status_seen: list[int] = []

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            status = status_seen[0] if status_seen else 0
            self.state.counters[f"{scope['method']} {self._template(scope)} {status}"] += 1
            self.state.counters["requests"] += 1
