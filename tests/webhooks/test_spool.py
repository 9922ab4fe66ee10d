"""No event lost: the receiver's spool, its delivery thread, and what ``/health`` reports."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from helpers.webhooks import SECRET, RecordingEmit, recording_completed, serve_in_thread, signed

from prefect_zoom.webhooks import create_receiver_app
from prefect_zoom.webhooks.delivery import EventRefused, PrefectAPIError, PrefectEventSender
from prefect_zoom.webhooks.envelope import parse_envelope
from prefect_zoom.webhooks.events import event_id, prefect_event
from prefect_zoom.webhooks.receiver import WebhookReceiver
from prefect_zoom.webhooks.spool import Spool, SpoolInUseError
from zoom_emulator import free_port

DEADLINE = 30.0


def receiver_of(app: FastAPI) -> WebhookReceiver:
    receiver: WebhookReceiver = app.state.receiver
    return receiver


def health_when(
    app: FastAPI, condition: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Poll the receiver's health until ``condition`` holds (fails after DEADLINE seconds)."""
    end = time.monotonic() + DEADLINE
    while True:
        health = receiver_of(app).health()
        if condition(health):
            return health
        assert time.monotonic() < end, f"{what}: not within {DEADLINE}s: {health}"
        time.sleep(0.05)


async def post(app: FastAPI, raw: bytes, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        return await client.post("/zoom/webhook", content=raw, headers=headers)


class FlakyEmit(RecordingEmit):
    """Raises like an unreachable Prefect API while ``down`` is set; records calls otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.down = threading.Event()
        self.down.set()
        self.tries: list[uuid.UUID] = []

    def __call__(self, **kwargs: Any) -> None:
        self.tries.append(kwargs["id"])
        if self.down.is_set():
            raise ConnectionError("Prefect is down")
        super().__call__(**kwargs)


# ---- retries and visible failures --------------------------------------------------------------------
async def test_a_failing_emit_is_retried_until_prefect_takes_the_event() -> None:
    emit = FlakyEmit()
    app = create_receiver_app(SECRET, emit=emit)
    try:
        raw, headers = signed(recording_completed())
        assert (await post(app, raw, headers)).json() == {"status": "accepted"}
        down = health_when(app, lambda h: h["emit_failed"] >= 2, "two failed attempts")
        assert (down["accepted"], down["emitted"], down["pending"]) == (1, 0, 1)
        assert down["last_emit_error"] == "ConnectionError: Prefect is down"
        emit.down.clear()
        assert receiver_of(app).drain(DEADLINE)
        up = receiver_of(app).health()
        assert (up["emitted"], up["pending"], up["last_emit_error"]) == (1, 0, None)
        assert [call["id"] for call in emit.calls] == [event_id(raw)]
        assert set(emit.tries) == {event_id(raw)}  # every retry sends the same event id
    finally:
        emit.down.clear()
        receiver_of(app).close()


async def test_an_event_prefect_refuses_does_not_block_the_next_ones() -> None:
    calls: list[str] = []

    def emit(**kwargs: Any) -> None:
        calls.append(kwargs["resource"]["prefect.resource.id"])
        if kwargs["resource"]["prefect.resource.id"] == "zoom.meeting.poison":
            raise EventRefused("the Prefect API answered 422")

    app = create_receiver_app(SECRET, emit=emit)
    try:
        for meeting in ("poison", "fine"):
            raw, headers = signed(recording_completed(meeting))
            assert (await post(app, raw, headers)).status_code == 200
        assert receiver_of(app).drain(DEADLINE)
        health = receiver_of(app).health()
        assert (health["emitted"], health["emit_refused"], health["pending"]) == (1, 1, 0)
        assert calls == ["zoom.meeting.poison", "zoom.meeting.fine"]  # refused once, not retried
    finally:
        receiver_of(app).close()


# ---- durability ----------------------------------------------------------------------------------------
async def test_spooled_events_are_delivered_by_the_next_receiver(tmp_path: Path) -> None:
    spool = tmp_path / "spool.sqlite3"
    first_emit = FlakyEmit()  # Prefect is down for the first receiver
    first = create_receiver_app(SECRET, emit=first_emit, spool=spool)
    bodies = [signed(recording_completed(f"meeting-{n}")) for n in range(3)]
    for raw, headers in bodies:
        assert (await post(first, raw, headers)).json() == {"status": "accepted"}
    health_when(first, lambda h: h["emit_failed"] >= 1, "a failed attempt")
    receiver_of(first).close(timeout=0)
    assert first_emit.calls == []

    emit = RecordingEmit()
    second = create_receiver_app(SECRET, emit=emit, spool=spool)
    try:
        assert receiver_of(second).drain(DEADLINE)  # without any new delivery
        assert [call["id"] for call in emit.calls] == [event_id(raw) for raw, _ in bodies]
        # Zoom retries the first event (signed anew): the spool still knows it
        retry_raw, retry_headers = signed(bodies[0][0])
        assert (await post(second, retry_raw, retry_headers)).json() == {"status": "duplicate"}
        assert receiver_of(second).drain(DEADLINE)
        assert len(emit.calls) == 3
    finally:
        receiver_of(second).close()


def test_a_spool_belongs_to_one_receiver(tmp_path: Path) -> None:
    spool = tmp_path / "spool.sqlite3"
    first = create_receiver_app(SECRET, emit=RecordingEmit(), spool=spool)
    try:
        # events hold download tokens: the database and its WAL are for the owner only
        files = [p for p in tmp_path.iterdir() if p.name.startswith("spool.sqlite3")]
        assert {p.name for p in files} >= {"spool.sqlite3", "spool.sqlite3-wal"}
        assert all(p.stat().st_mode & 0o077 == 0 for p in files if p.suffix != ".lock")
        with pytest.raises(SpoolInUseError, match="--spool"):
            create_receiver_app(SECRET, emit=RecordingEmit(), spool=spool)
    finally:
        receiver_of(first).close()
    second = create_receiver_app(SECRET, emit=RecordingEmit(), spool=spool)  # free again
    receiver_of(second).close()


async def test_a_spool_that_cannot_be_written_answers_503_so_zoom_retries(
    tmp_path: Path,
) -> None:
    spool_path = tmp_path / "spool.sqlite3"
    emit = RecordingEmit()
    app = create_receiver_app(SECRET, emit=emit, spool=Spool(spool_path, busy_timeout=0.2))
    raw, headers = signed(recording_completed())
    blocker = sqlite3.connect(spool_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        refused = await post(app, raw, headers)
        assert refused.status_code == 503
        assert refused.json()["error"] == "spool_unavailable"
        assert refused.headers["retry-after"]
        assert str(spool_path) not in refused.text
        blocker.execute("ROLLBACK")
        retried = await post(app, raw, headers)  # not remembered: Zoom's retry goes through
        assert retried.json() == {"status": "accepted"}
        assert receiver_of(app).drain(DEADLINE)
        assert len(emit.calls) == 1
        health = receiver_of(app).health()
        assert health["rejected_by_reason"] == {"spool_unavailable": 1}
    finally:
        blocker.close()
        receiver_of(app).close()


# ---- into a real Prefect API ------------------------------------------------------------------------------
async def test_health_counts_only_what_the_prefect_api_accepted(tmp_path: Path) -> None:
    """The default sender against an API that is not there, then against the session's one."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventIDFilter
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    spool = tmp_path / "spool.sqlite3"
    nowhere = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings({PREFECT_API_URL: nowhere, PREFECT_CLIENT_MAX_RETRIES: 0}):
        down = create_receiver_app(SECRET, spool=spool)  # emit: POST /events of that API
    raw, headers = signed(recording_completed(f"meeting-{uuid.uuid4().hex}"))
    try:
        assert (await post(down, raw, headers)).json() == {"status": "accepted"}
        health = health_when(down, lambda h: h["emit_failed"] >= 1, "a failed attempt")
        assert (health["emitted"], health["pending"]) == (0, 1)
        assert "ConnectError" in health["last_emit_error"]
    finally:
        receiver_of(down).close(timeout=0)

    up = create_receiver_app(SECRET, spool=spool)  # the session's Prefect API
    try:
        assert receiver_of(up).drain(DEADLINE)
        assert receiver_of(up).health()["emitted"] == 1
    finally:
        receiver_of(up).close()
    wanted = EventFilter(id=EventIDFilter(id=[event_id(raw)]))
    end = time.monotonic() + DEADLINE
    async with get_client() as prefect:
        while True:  # the server stores events in batches: poll until it is readable
            page = await prefect.read_events(filter=wanted, limit=10)
            if page.events or time.monotonic() > end:
                break
            await asyncio.sleep(0.2)
    assert [e.event for e in page.events] == ["zoom.recording.completed"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(422, EventRefused), (400, EventRefused), (503, PrefectAPIError), (429, PrefectAPIError)],
)
def test_the_prefect_sender_tells_refusals_from_outages_without_echoing_the_body(
    status: int, error: type[Exception]
) -> None:
    """A stand-in Prefect API that answers ``status`` with the event echoed in its body."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    api = FastAPI()
    received: list[Any] = []

    @api.post("/api/events")
    async def events(request: Request) -> JSONResponse:
        received.append(await request.json())
        return JSONResponse({"detail": received[-1]}, status_code=status)

    event = prefect_event(
        parse_envelope(recording_completed()), prefect_id=uuid.uuid4()
    )  # holds the download token
    with (
        serve_in_thread(api) as base_url,
        temporary_settings({PREFECT_API_URL: f"{base_url}/api", PREFECT_CLIENT_MAX_RETRIES: 0}),
    ):
        sender = PrefectEventSender()
        try:
            with pytest.raises(error) as raised:
                sender(**event)
        finally:
            sender.close()
    assert str(raised.value) == f"the Prefect API answered {status}"
    assert received[0][0]["id"] == str(event["id"])


async def test_an_event_sent_again_after_a_crash_is_stored_once_by_prefect() -> None:
    """The receiver may die between Prefect's answer and marking the event delivered; the next
    one sends it again with the same id, and the Prefect API keeps one event per id."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventIDFilter

    again = prefect_event(parse_envelope(recording_completed()), prefect_id=uuid.uuid4())
    later = prefect_event(parse_envelope(recording_completed()), prefect_id=uuid.uuid4())
    sender = PrefectEventSender()
    try:
        for event in (again, again, later):
            await asyncio.to_thread(sender, **event)
    finally:
        sender.close()
    end = time.monotonic() + DEADLINE
    async with get_client() as prefect:
        # the server stores events in order, in batches: once ``later`` is readable, both
        # copies of ``again`` have been through the store
        while not (
            await prefect.read_events(EventFilter(id=EventIDFilter(id=[later["id"]])), limit=10)
        ).events:
            assert time.monotonic() < end, "the last event never became readable"
            await asyncio.sleep(0.2)
        stored = await prefect.read_events(
            EventFilter(id=EventIDFilter(id=[again["id"]])), limit=10
        )
    assert [e.id for e in stored.events] == [again["id"]]
