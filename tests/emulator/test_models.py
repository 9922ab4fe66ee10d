"""The emulator's backend without HTTP: meetings as typed records and their recurrence arithmetic,
driven straight through ``zoom_emulator.models`` (no app, no server, no request)."""

from __future__ import annotations

import pytest

from zoom_emulator import EmulatorConfig
from zoom_emulator.models import meetings
from zoom_emulator.models.errors import ZoomError
from zoom_emulator.models.inputs import MeetingIn
from zoom_emulator.models.operations import operations
from zoom_emulator.models.ratelimit import RateLimiter
from zoom_emulator.models.state import build_state


def _body(**fields: object) -> MeetingIn:
    return MeetingIn.model_validate(fields)


def test_a_weekly_series_keeps_its_local_time_across_a_dst_change() -> None:
    state = build_state(EmulatorConfig(recordings_per_user=0))
    body = _body(
        topic="Stand-up",
        type=8,
        start_time="2031-03-24T09:00:00",  # local time in the zone below, a Monday
        timezone="Europe/Berlin",
        duration=15,
        recurrence={"type": 2, "weekly_days": "2,5", "end_times": 4},  # Mondays and Thursdays
    )
    meeting = meetings.build_meeting(state, state.owner(), body)

    assert isinstance(meeting, meetings.Meeting)
    assert meeting.occurrences is not None
    starts = [o["start_time"] for o in meeting.occurrences]
    # Berlin moves to summer time on 2031-03-30: 08:00 UTC before, 07:00 UTC after
    assert starts == [
        "2031-03-24T08:00:00Z",
        "2031-03-27T08:00:00Z",
        "2031-03-31T07:00:00Z",
        "2031-04-03T07:00:00Z",
    ]
    assert meeting.start_time == starts[0] and meeting.as_zoom()["recurrence"]["end_times"] == 4
    assert meeting.id not in state.meetings  # building stores nothing


def test_an_update_is_a_new_record_and_a_bad_one_leaves_the_stored_meeting_alone() -> None:
    state = build_state(EmulatorConfig(recordings_per_user=0))
    stored = meetings.build_meeting(state, state.owner(), _body(topic="Old", duration=30))

    changed = meetings.updated(stored, _body(topic="New", duration=45), None)
    assert (changed.topic, changed.duration) == ("New", 45)
    assert (stored.topic, stored.duration) == ("Old", 30)

    with pytest.raises(ZoomError) as refused:
        meetings.updated(stored, _body(topic="Bad", timezone="Mars/Olympus"), None)
    assert (refused.value.status, refused.value.code) == (400, 300)
    assert stored.topic == "Old"


def test_a_window_spent_on_arrival_waits_for_the_call_however_late_it_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The test hook for 429s: the window fills when the call comes, not when it was armed."""
    state = build_state(EmulatorConfig(recordings_per_user=0, rate_limits="pro"))
    limiter = RateLimiter(state)
    account = state.config.account_id
    medium = next(op for op in operations().values() if op.label == "Medium")
    light = next(op for op in operations().values() if op.label == "Light")
    clock = [1000.0]
    monkeypatch.setattr("zoom_emulator.models.ratelimit.now", lambda: clock[0])

    limiter.spend_on_arrival(account, "Medium", windows=2)
    clock[0] = 1010.5  # a slow task: ten seconds later
    limiter.check(account, light)  # another label leaves the trap armed
    with pytest.raises(ZoomError) as first:
        limiter.check(account, medium)
    assert first.value.status == 429
    assert first.value.headers["Retry-After"] == "1970-01-01T00:16:51Z"  # 1011
    clock[0] = 1011.2
    with pytest.raises(ZoomError):
        limiter.check(account, medium)
    clock[0] = 1012.0
    limiter.check(account, medium)
    limiter.check(account, medium)  # armed once: later calls count as usual
    assert state.counters["rate_limited QPS"] == 2
