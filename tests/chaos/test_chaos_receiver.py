"""Reliability of the webhook receiver: Prefect down, the receiver killed, both restarted.

Real processes throughout: a ``prefect server start`` (SQLite in its own PREFECT_HOME) that the
test stops and starts again on the same database, and a ``prefect-zoom webhook serve`` that it
kills with SIGKILL and starts again on the same spool. Zoom is played by signed HTTP requests.
The check is in Prefect's own API: every event Zoom got a 200 for is stored exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.chaos import SIZE
from helpers.prefect_server import (
    PREFECT,
    background,
    prefect_env,
    prefect_server,
    stop,
    tail,
    wait_for,
    wait_healthy,
    wait_http_ok,
)
from helpers.webhooks import SECRET, recording_completed, signed

from prefect_zoom.webhooks.events import event_id
from zoom_emulator import free_port

pytestmark = pytest.mark.slow

PREFECT_ZOOM = Path(sys.executable).with_name("prefect-zoom")
OUTAGE_EVENTS = 20 if SIZE.name == "full" else 3
"""Deliveries Zoom makes while Prefect is down (all acknowledged, then the receiver is killed)."""
DEADLINE = 180.0


def participants_joined(meeting: str, count: int) -> list[dict[str, Any]]:
    """``count`` participants joining one meeting in the same millisecond: distinct events
    that share ``event``, ``event_ts`` and the meeting's UUID."""
    event_ts = int(time.time() * 1000)
    return [
        {
            "event": "meeting.participant_joined",
            "event_ts": event_ts,
            "payload": {
                "account_id": "chaosAccount",
                "object": {
                    "uuid": meeting,
                    "id": 81234567890,
                    "topic": "Chaos",
                    "participant": {"user_id": f"u{n}", "user_name": f"Participant {n}"},
                },
            },
        }
        for n in range(count)
    ]


@pytest.mark.skipif(
    not (PREFECT.exists() and PREFECT_ZOOM.exists()),
    reason="the prefect and prefect-zoom commands are not next to this Python",
)
def test_receiver_with_prefect_down_then_killed_then_restarted_delivers_each_event_once(
    tmp_path: Path,
) -> None:
    port, receiver_port = free_port(), free_port()
    api = f"http://127.0.0.1:{port}/api"
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    # fail fast while the API is away: the receiver's own retries are what is under test
    env = prefect_env(tmp_path / "prefect-home", api, PREFECT_CLIENT_MAX_RETRIES="0")
    receiver_env = {**env, "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET}
    receiver_args = [
        *(str(PREFECT_ZOOM), "webhook", "serve", "--host", "127.0.0.1"),
        *("--port", str(receiver_port), "--spool", str(tmp_path / "spool.sqlite3")),
        *("--log-level", "warning"),
    ]
    logs = {n: tmp_path / f"{n}.log" for n in ("server", "server2", "receiver", "receiver2")}
    meeting = f"chaos-{uuid.uuid4().hex}"
    before = signed(recording_completed(meeting))
    outage = [signed(body) for body in participants_joined(meeting, OUTAGE_EVENTS)]
    expected = {str(event_id(raw)) for raw, _ in [before, *outage]}

    def deliver(raw: bytes, headers: dict[str, str], log: Path) -> str:
        answer = httpx.post(
            f"{receiver_url}/zoom/webhook", content=raw, headers=headers, timeout=10
        )
        assert answer.status_code == 200, f"{answer.text}\n{tail(log)}"
        status: str = answer.json()["status"]
        return status

    def health_when(
        what: str, condition: Callable[[dict[str, Any]], bool], log: Path
    ) -> dict[str, Any]:
        """The receiver's health once ``condition`` holds."""

        def probe() -> dict[str, Any] | None:
            health: dict[str, Any] = httpx.get(f"{receiver_url}/health", timeout=5).json()
            return health if condition(health) else None

        return wait_for(what, probe, [log], DEADLINE)

    def stored_events() -> list[dict[str, Any]]:
        query = {"filter": {"resource": {"id_prefix": [f"zoom.meeting.{meeting}"]}}, "limit": 50}
        page = httpx.post(f"{api}/events/filter", json=query, timeout=10)
        page.raise_for_status()
        events: list[dict[str, Any]] = page.json()["events"]
        return events

    with ExitStack() as stack:
        server = stack.enter_context(prefect_server(port, env, logs["server"], cwd=tmp_path))
        wait_healthy(api, server, logs["server"], deadline=DEADLINE)
        receiver = stack.enter_context(
            background(receiver_args, receiver_env, logs["receiver"], cwd=tmp_path)
        )
        wait_http_ok(f"{receiver_url}/health", receiver, logs["receiver"], deadline=60)

        # Prefect up: delivered and stored
        assert deliver(*before, logs["receiver"]) == "accepted"
        wait_for(
            "the first event stored in Prefect",
            lambda: stored_events() or None,
            [logs["receiver"], logs["server"]],
            DEADLINE,
        )

        # Prefect down: every delivery is still acknowledged, and waits in the spool
        stop(server)
        for raw, headers in outage:
            assert deliver(raw, headers, logs["receiver"]) == "accepted"
        waiting = health_when(
            "the receiver failing to reach Prefect",
            lambda h: h["emit_failed"] >= 1 and h["pending"] == len(outage),
            logs["receiver"],
        )
        assert waiting["emitted"] == 1, waiting

        # the receiver dies without any chance to clean up
        os.killpg(receiver.pid, signal.SIGKILL)
        receiver.wait(30)

        # Prefect back on the same database, the receiver back on the same spool
        server = stack.enter_context(prefect_server(port, env, logs["server2"], cwd=tmp_path))
        wait_healthy(api, server, logs["server2"], deadline=DEADLINE)
        receiver = stack.enter_context(
            background(receiver_args, receiver_env, logs["receiver2"], cwd=tmp_path)
        )
        wait_http_ok(f"{receiver_url}/health", receiver, logs["receiver2"], deadline=60)
        # Zoom's retries, signed anew, of an event from before and one from during the outage
        for raw, _ in (before, outage[0]):
            assert deliver(*signed(raw), logs["receiver2"]) == "duplicate"
        delivered = health_when(
            "the spooled events handed to Prefect",
            lambda h: h["pending"] == 0,
            logs["receiver2"],
        )
        assert delivered["emitted"] == len(outage), delivered

        def all_stored() -> list[dict[str, Any]] | None:
            events = stored_events()
            return events if {e["id"] for e in events} >= expected else None

        events = wait_for(
            "every acknowledged event stored in Prefect",
            all_stored,
            [logs["receiver2"], logs["server2"]],
            DEADLINE,
        )
        ids = [e["id"] for e in events]
        assert sorted(ids) == sorted(expected), json.dumps(events, indent=1)[:4000]
        participants = {
            e["payload"]["object"]["participant"]["user_id"]
            for e in events
            if e["event"] == "zoom.meeting.participant_joined"
        }
        assert participants == {f"u{n}" for n in range(OUTAGE_EVENTS)}
