"""Handing spooled events to Prefect: one thread, retries without end, failures in plain sight.

The delivery thread takes the oldest pending event of the :class:`~.spool.Spool`, calls ``emit``
with it and marks it delivered only when ``emit`` returned. A failure is counted, written to the
spool (``last_error``) and retried after a backoff (0.5 s doubling up to 30 s); the event stays on
disk until Prefect takes it, across restarts of the receiver. A re-sent event keeps its id, and
Prefect stores one event per id, so an event sent just before a crash is not doubled after it.

The default ``emit``, :class:`PrefectEventSender`, posts each event to the Prefect API's
``POST /events`` and returns only on its ``204``: unlike ``prefect.events.emit_event`` (which
buffers in the background and drops events when the API stays away) and the events websocket
(which has no per-event acknowledgement), a return means Prefect has the event.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from prefect_zoom.exceptions import EventRefused, PrefectAPIError
from prefect_zoom.webhooks.spool import Spool, SpooledEvent, SpoolError

logger = logging.getLogger("prefect_zoom.webhooks")

Emit = Callable[..., object]
"""Called like :func:`prefect.events.emit_event` with keyword arguments ``event``, ``resource``,
``related``, ``payload``, ``occurred`` and ``id``; returns once Prefect has the event, raises
otherwise (:class:`EventRefused` when retrying cannot help)."""

RETRY_INITIAL_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def event_to_json(event: dict[str, Any]) -> str:
    """The spooled form of ``emit``'s keyword arguments."""
    return json.dumps(
        {**event, "occurred": event["occurred"].isoformat(), "id": str(event["id"])},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def event_from_json(text: str) -> dict[str, Any]:
    """``emit``'s keyword arguments from their spooled form."""
    event: dict[str, Any] = json.loads(text)
    event["occurred"] = datetime.fromisoformat(event["occurred"])
    event["id"] = uuid.UUID(event["id"])
    return event


class PrefectEventSender:
    """An ``emit`` that posts one event to the current Prefect API and waits for its answer."""

    def __init__(self) -> None:
        self._client: Any = None

    def __call__(self, **kwargs: Any) -> None:
        from prefect.client.orchestration import get_client
        from prefect.events import Event

        body = [Event(**kwargs).model_dump(mode="json")]
        if self._client is None:
            self._client = get_client(sync_client=True).__enter__()
        try:
            self._client.request("POST", "/events", json=body)
        except httpx.HTTPStatusError as error:
            # only the status: an error body may echo the event (and its download token)
            status = error.response.status_code
            if 400 <= status < 500 and status not in RETRYABLE_STATUSES:
                raise EventRefused(f"the Prefect API answered {status}") from None
            raise PrefectAPIError(f"the Prefect API answered {status}") from None
        except Exception:
            self.close()  # a fresh connection for the next attempt
            raise

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.__exit__(None, None, None)


class Deliverer:
    """The delivery thread: moves events from the spool into ``emit``, oldest first."""

    def __init__(
        self,
        spool: Spool,
        emit: Emit,
        count: Callable[[str], None],
        *,
        retry_initial: float = RETRY_INITIAL_SECONDS,
        retry_max: float = RETRY_MAX_SECONDS,
    ) -> None:
        self._spool = spool
        self._emit = emit
        self._count = count
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._condition = threading.Condition()
        self._wakeups = 0
        self._stopping = False
        self._idle = False
        self._thread: threading.Thread | None = None
        # the thread sees the Prefect settings (API URL, key) of the code that built the receiver
        self._context = contextvars.copy_context()

    def wake(self) -> None:
        """A new event is in the spool (starts the thread the first time)."""
        with self._condition:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(
                    target=self._context.run,
                    args=(self._run,),
                    name="zoom-webhook-delivery",
                    daemon=True,
                )
                self._thread.start()
            self._wakeups += 1
            self._idle = False
            self._condition.notify_all()

    def _wait(self, seen: int | None, timeout: float | None) -> None:
        """Sleep until stopped, ``timeout``, or (unless ``seen`` is None) woken after ``seen``
        wake-ups."""
        with self._condition:
            self._condition.wait_for(
                lambda: self._stopping or (seen is not None and self._wakeups != seen), timeout
            )

    def _run(self) -> None:
        delay = self._retry_initial
        while True:
            with self._condition:
                if self._stopping:
                    return
                seen = self._wakeups
            try:
                batch = self._spool.pending()
            except SpoolError as error:
                logger.error("the delivery thread cannot read the spool: %s", error)
                self._wait(seen, delay)
                delay = min(delay * 2, self._retry_max)
                continue
            if not batch:
                with self._condition:
                    self._idle = True
                    self._condition.notify_all()
                self._wait(seen, None)
                continue
            if self._deliver(batch):
                delay = self._retry_initial
            else:
                self._wait(None, delay)  # only a stop cuts the backoff short
                delay = min(delay * 2, self._retry_max)

    def _deliver(self, batch: list[SpooledEvent]) -> bool:
        """Emit the batch in order; ``False`` at the first failure that is worth a retry."""
        for item in batch:
            with self._condition:
                if self._stopping:
                    return True
            try:
                self._emit(**event_from_json(item.event))
            except EventRefused as error:
                self._count("emit_refused")
                logger.error("Prefect refused a Zoom event; it will not be retried: %s", error)
                self._record(self._spool.refused, item.seq, str(error))
                continue
            except Exception as error:
                self._count("emit_failed")
                summary = f"{type(error).__name__}: {error}"
                logger.warning(
                    "could not hand a Zoom event to Prefect (attempt %d, will retry): %s",
                    item.attempts + 1,
                    summary,
                )
                self._record(self._spool.failed, item.seq, summary)
                return False
            self._count("emitted")
            self._record(self._spool.delivered, item.seq)
        return True

    @staticmethod
    def _record(mark: Callable[..., None], *args: Any) -> None:
        try:
            mark(*args)
        except SpoolError as error:  # the event stays pending: sent again, same id
            logger.error("could not record a delivery in the spool: %s", error)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the spool has no pending event; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.wake()
        while True:
            if self._spool.pending_count() == 0:
                return True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            with self._condition:
                self._condition.wait_for(
                    lambda: self._idle or self._stopping,
                    0.05 if remaining is None else min(0.05, remaining),
                )

    def close(self, timeout: float | None = 5.0) -> None:
        """Deliver what Prefect takes within ``timeout``, then stop; the rest stays spooled."""
        if self._thread is not None:
            self.drain(timeout)
        with self._condition:
            self._stopping = True
            thread = self._thread
            self._condition.notify_all()
        if thread is not None:
            thread.join(timeout)
        if isinstance(self._emit, PrefectEventSender):
            self._emit.close()


__all__ = [
    "Deliverer",
    "Emit",
    "EventRefused",
    "PrefectAPIError",
    "PrefectEventSender",
    "event_from_json",
    "event_to_json",
]
