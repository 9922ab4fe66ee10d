"""The ``watch_zoom`` flow against the emulator and the session's Prefect API: what a window
emits, re-runs that emit nothing again, a crash halfway and its re-run, overlapping runs."""

from __future__ import annotations

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.connections import s2s_block_without
from helpers.limits import use_up_per_second_limit
from helpers.recordings import add_recording, configured
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventIDFilter, EventOccurredFilter
from prefect.events.schemas.events import Event

from prefect_zoom.capabilities import FLOW_REQUIREMENTS, flow_capabilities
from prefect_zoom.catalog import ALL_SCOPES
from prefect_zoom.exceptions import ZoomInputError, ZoomMissingScopesError
from prefect_zoom.flows import WatchCursor, WatchReport, watch_zoom
from prefect_zoom.flows._watch import watch_lock
from prefect_zoom.models import Meeting
from prefect_zoom.tasks import add_meeting_registrant, create_meeting
from prefect_zoom.webhooks.delivery import PrefectEventSender
from prefect_zoom.webhooks.envelope import parse_envelope
from prefect_zoom.webhooks.events import polled_event_id, prefect_event
from zoom_emulator import EmulatorConfig, ZoomEmulator

DEADLINE = 60.0
NOW = datetime.now(UTC).replace(microsecond=0)
RECORDED = "zoom.recording.completed"
ENDED = "zoom.meeting.ended"
REGISTERED = "zoom.meeting.registration_created"
REGISTRANTS = "GET /v2/meetings/{meetingId}/registrants"


@pytest.fixture
def cursor() -> str:
    """A cursor block name of this test's own."""
    return f"zoom-watch-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every event handed to Prefect's ``POST /events`` during the test (it still goes)."""
    calls: list[dict[str, Any]] = []
    real = PrefectEventSender.__call__

    def spy(self: PrefectEventSender, **event: Any) -> None:
        real(self, **event)
        calls.append(event)

    monkeypatch.setattr(PrefectEventSender, "__call__", spy)
    return calls


@flow
def plan_meetings(credentials: str) -> tuple[Meeting, Meeting]:
    """A meeting that ended an hour ago, one tomorrow taking registrants (two so far), and one
    without registration (its registrants answer 404)."""
    past = create_meeting(
        credentials, {"topic": "Retro", "start_time": NOW - timedelta(hours=2), "duration": 60}
    )
    upcoming = create_meeting(
        credentials,
        {
            "topic": "Launch",
            "start_time": NOW + timedelta(days=1),
            "settings": {"approval_type": 0},
        },
    )
    create_meeting(credentials, {"topic": "Open", "start_time": NOW + timedelta(days=2)})
    for number in range(2):
        add_meeting_registrant(
            credentials, upcoming.id, {"email": f"guest{number}@example.com", "first_name": "G"}
        )
    return past, upcoming


def names(events: list[dict[str, Any]]) -> list[str]:
    return sorted(e["event"] for e in events)


def stored(ids: list[uuid.UUID]) -> list[Event]:
    """The events of these ids as the Prefect API gives them back (stored in batches: polled)."""
    wanted = EventFilter(
        id=EventIDFilter(id=ids),
        occurred=EventOccurredFilter(
            since=NOW - timedelta(days=30), until=NOW + timedelta(days=30)
        ),
    )
    end = time.monotonic() + DEADLINE
    with get_client(sync_client=True) as prefect:
        while True:
            answer = prefect.request(
                "POST",
                "/events/filter",
                json={"filter": wanted.model_dump(mode="json"), "limit": 50},
            )
            found = [Event.model_validate(e) for e in answer.json()["events"]]
            if len(found) >= len(ids) or time.monotonic() > end:
                return found
            time.sleep(0.2)


def run(block: str, cursor: str, **options: Any) -> WatchReport:
    report: WatchReport = watch_zoom(block, cursor, lookback_hours=48, **options)
    return report


def test_first_run_emits_the_window_then_only_what_is_new(
    zoom_emulator: ZoomEmulator, block_name: str, cursor: str, sent: list[dict[str, Any]]
) -> None:
    past, upcoming = plan_meetings(block_name)
    seeded = [r.uuid for r in zoom_emulator.state.recordings.values()]

    first = run(block_name, cursor)
    assert zoom_emulator.state.counters[f"{REGISTRANTS} 404"] == 1  # passed over
    assert names(sent) == sorted([RECORDED] * len(seeded) + [ENDED] + [REGISTERED] * 2)
    assert first.emitted == {RECORDED: len(seeded), ENDED: 1, REGISTERED: 2}
    assert first.already_sent == 0 and not first.skipped
    by_event = {e["event"]: e for e in sent}
    assert by_event[ENDED]["resource"]["prefect.resource.id"] == f"zoom.meeting.{past.uuid}"
    assert by_event[ENDED]["payload"]["object"]["id"] == past.id
    registration = by_event[REGISTERED]
    assert registration["resource"]["prefect.resource.id"] == f"zoom.meeting.{upcoming.uuid}"
    assert registration["payload"]["object"]["registrant"]["email"].startswith("guest")
    recorded = [e for e in sent if e["event"] == RECORDED]
    assert sorted(e["resource"]["zoom.meeting-uuid"] for e in recorded) == sorted(seeded)
    assert all(
        e["id"] == polled_event_id("recording.completed", e["resource"]["zoom.meeting-uuid"])
        for e in recorded
    )
    back = stored([e["id"] for e in sent])
    assert sorted(e.event for e in back) == names(sent)
    text = json.dumps([e["payload"] for e in sent])
    assert "pwd=" not in text and '"password"' not in text and "start_url" not in text

    second = run(block_name, cursor)
    assert len(sent) == len(back) and second.emitted == {}
    assert second.already_sent == len(back)

    new = add_recording(zoom_emulator, NOW.date())
    add_meeting_registrant.fn(
        block_name, upcoming.id, {"email": "late@example.com", "first_name": "L"}
    )
    third = run(block_name, cursor)
    assert third.emitted == {RECORDED: 1, REGISTERED: 1}
    latest = {e["event"]: e for e in sent[-2:]}
    assert latest[RECORDED]["resource"]["zoom.meeting-uuid"] == new["uuid"]
    assert latest[REGISTERED]["payload"]["object"]["registrant"]["email"] == "late@example.com"
    assert len({e["id"] for e in sent}) == len(sent)
    assert run(block_name, cursor).emitted == {}


def test_the_events_are_those_of_the_webhook_receiver(
    zoom_emulator: ZoomEmulator, block_name: str, cursor: str, sent: list[dict[str, Any]]
) -> None:
    """Same name, resource, related resources and payload as the receiver makes of Zoom's
    ``recording.completed`` for the same meeting (minus the webhook's download token)."""
    recording = add_recording(zoom_emulator, NOW.date())
    run(block_name, cursor, watch=["recordings"])
    (polled,) = [e for e in sent if e["resource"]["zoom.meeting-uuid"] == recording["uuid"]]
    listed = zoom_emulator.state.recordings[recording["uuid"]]
    body = {
        "event": "recording.completed",
        "event_ts": 1,
        "payload": {
            "account_id": zoom_emulator.config.account_id,
            "object": polled["payload"]["object"],
        },
    }
    pushed = prefect_event(parse_envelope(body))
    for key in ("event", "resource", "related"):
        assert polled[key] == pushed[key], key
    assert set(polled["payload"]) == set(pushed["payload"])
    assert polled["payload"]["object"]["uuid"] == listed.uuid
    assert "password" not in str(polled["payload"]) and "download_access_token" not in str(polled)


def test_a_recording_still_processing_is_emitted_once_it_completes(
    zoom_emulator: ZoomEmulator, block_name: str, cursor: str, sent: list[dict[str, Any]]
) -> None:
    busy = add_recording(zoom_emulator, NOW.date(), processing_file_types=["MP4"])
    first = run(block_name, cursor, watch=["recordings"])
    assert first.still_processing == 1
    assert busy["uuid"] not in [e["resource"]["zoom.meeting-uuid"] for e in sent]
    zoom_emulator.control("POST", f"recordings/{busy['uuid']}/complete")
    second = run(block_name, cursor, watch=["recordings"])
    assert second.emitted == {RECORDED: 1} and second.still_processing == 0
    assert sent[-1]["resource"]["zoom.meeting-uuid"] == busy["uuid"]


def test_a_run_that_fails_halfway_then_its_rerun_miss_nothing_and_send_nothing_twice(
    zoom_emulator: ZoomEmulator, block_name: str, cursor: str, sent: list[dict[str, Any]]
) -> None:
    """Recordings are emitted, then the meetings cannot be listed (scope taken away): the run
    fails and its cursor stays; the re-run with the scope sends the rest, and no recording again."""
    plan_meetings(block_name)
    app = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
    scopes = list(app.scopes)
    no_meetings = s2s_block_without(zoom_emulator, "meeting:read")
    state = watch_zoom(no_meetings, cursor, lookback_hours=48, return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), ZoomMissingScopesError)
    half = names(sent)
    assert half and set(half) == {RECORDED}
    assert WatchCursor.load(cursor, _sync=True).since is None  # type: ignore[call-arg,union-attr]

    app.scopes = scopes
    rerun = run(block_name, cursor)
    assert rerun.already_sent == len(half)
    assert rerun.emitted == {ENDED: 1, REGISTERED: 2}
    assert len({e["id"] for e in sent}) == len(sent)  # each event went to Prefect once
    assert len(stored([e["id"] for e in sent])) == len(sent)


def test_a_run_cut_while_sending_is_completed_by_the_next(
    zoom_emulator: ZoomEmulator,
    block_name: str,
    cursor: str,
    sent: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Prefect API goes away after two events: the run fails; the next one sends the rest."""
    for _ in range(3):
        add_recording(zoom_emulator, NOW.date())
    total = len(zoom_emulator.state.recordings)
    spied = PrefectEventSender.__call__

    def failing(self: PrefectEventSender, **event: Any) -> None:
        if len(sent) >= 2:
            raise ConnectionError("the Prefect API went away")
        spied(self, **event)

    monkeypatch.setattr(PrefectEventSender, "__call__", failing)
    state = watch_zoom(
        block_name, cursor, watch=["recordings"], lookback_hours=48, return_state=True
    )
    assert state.is_failed() and len(sent) == 2
    monkeypatch.setattr(PrefectEventSender, "__call__", spied)
    rerun = run(block_name, cursor, watch=["recordings"])
    assert rerun.already_sent == 2 and rerun.emitted == {RECORDED: total - 2}
    assert len({e["id"] for e in sent}) == len(sent) == total


def test_zoom_failing_after_the_recordings_then_the_rerun_sends_the_rest_once(
    zoom_emulator: ZoomEmulator,
    block_name: str,
    cursor: str,
    sent: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once the first event is out, Zoom answers every call with a 5xx: the meetings cannot be
    listed (retried, then the run fails). With Zoom back, the re-run sends only the rest."""
    plan_meetings(block_name)
    spied = PrefectEventSender.__call__

    def then_zoom_fails(self: PrefectEventSender, **event: Any) -> None:
        spied(self, **event)
        zoom_emulator.control("PUT", "faults", json={"error_rate": 1.0})

    monkeypatch.setattr(PrefectEventSender, "__call__", then_zoom_fails)
    state = watch_zoom(block_name, cursor, lookback_hours=48, return_state=True)
    assert state.is_failed()
    assert set(names(sent)) == {RECORDED}
    assert zoom_emulator.state.counters["fault 5xx"] >= 3  # the task tried three times

    zoom_emulator.control("PUT", "faults", json={"error_rate": 0.0})
    monkeypatch.setattr(PrefectEventSender, "__call__", spied)
    rerun = run(block_name, cursor)
    assert rerun.emitted == {ENDED: 1, REGISTERED: 2}
    assert rerun.already_sent == len(zoom_emulator.state.recordings)
    assert len({e["id"] for e in sent}) == len(sent)


@configured(rate_limits="pro")
def test_a_429_is_waited_out(
    emulator_config: EmulatorConfig,
    zoom_emulator: ZoomEmulator,
    block_name: str,
    cursor: str,
    sent: list[dict[str, Any]],
) -> None:
    use_up_per_second_limit(zoom_emulator, "Medium", seconds=2)  # listing recordings is Medium
    report = run(block_name, cursor, watch=["recordings"])
    assert report.emitted == {RECORDED: len(zoom_emulator.state.recordings)}
    assert zoom_emulator.state.counters["rate_limited QPS"] >= 1


def test_an_overlapping_run_ends_without_doing_anything(
    zoom_emulator: ZoomEmulator,
    block_name: str,
    cursor: str,
    sent: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="prefect.flow_runs")
    with watch_lock(cursor, 1) as held:
        assert held
        with watch_lock(cursor, 0) as other:
            assert not other
        report = run(block_name, cursor, wait_seconds=1)
    assert report.skipped and report.emitted == {} and sent == []
    assert "Another watch_zoom run holds the cursor" in caplog.text
    assert run(block_name, cursor, watch=["recordings"]).emitted  # free again


def test_two_runs_started_together_send_each_event_once(
    zoom_emulator: ZoomEmulator, block_name: str, cursor: str, sent: list[dict[str, Any]]
) -> None:
    """Whichever takes the cursor first sends everything; the other waits for it, then finds
    nothing new (or, had it waited less, would end skipped)."""
    plan_meetings(block_name)
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(run, block_name, cursor, wait_seconds=120) for _ in range(2)]
        reports = [r.result(timeout=300) for r in runs]
    expected = len(zoom_emulator.state.recordings) + 1 + 2
    assert len(sent) == len({e["id"] for e in sent}) == expected
    assert sorted(sum(r.emitted.values()) for r in reports) == [0, expected]
    assert sorted(r.already_sent for r in reports) == [0, expected]


@pytest.mark.parametrize(
    ("field", "options"),
    [
        ("cursor_block", {"cursor_block": "Zoom Watch"}),
        ("lookback_hours", {"lookback_hours": 0}),
        ("watch", {"watch": ["webinars"]}),
        ("user_ids", {"user_ids": [" "]}),
    ],
)
def test_bad_input_is_refused_before_any_request(
    zoom_emulator: ZoomEmulator, block_name: str, field: str, options: dict[str, Any]
) -> None:
    zoom_emulator.control("POST", "counters/reset")
    arguments = {"cursor_block": "zoom-watch", **options}
    with pytest.raises(ZoomInputError) as caught:
        watch_zoom.fn(block_name, **arguments)
    assert caught.value.field == field
    assert not any(key.startswith("GET /v2") for key in zoom_emulator.state.counters)


def test_check_lists_the_watcher_with_its_scopes() -> None:
    assert FLOW_REQUIREMENTS["watch_zoom"].required == (
        "list_user_recordings",
        "list_meetings",
        "list_meeting_registrants",
    )
    (watcher,) = [c for c in flow_capabilities([]) if c.name == "watch_zoom"]
    assert "meeting:read" in watcher.scopes_to_add and "recording:read" in watcher.scopes_to_add
    (ready,) = [c for c in flow_capabilities(ALL_SCOPES) if c.name == "watch_zoom"]
    assert ready.can_run


def test_the_cursor_forgets_only_what_no_later_window_lists() -> None:
    day = timedelta(hours=24)
    cursor = WatchCursor(sent={"old": NOW - 2 * day, "recent": NOW - day / 2})
    assert cursor.window_start(NOW, day) == NOW - day  # first run: the lookback before now
    cursor.advance(NOW, day, hold_from=None)
    assert cursor.since == NOW and set(cursor.sent) == {"recent"}
    later = NOW + day / 4
    assert cursor.window_start(later, day) == NOW - day  # reaches back before the last end

    processing = NOW - 3 * day  # a recording that started three days ago is still processing
    held = WatchCursor(sent={"old": NOW - 2 * day})
    held.advance(NOW, day, hold_from=processing)
    assert held.window_start(later, day) == processing and set(held.sent) == {"old"}
