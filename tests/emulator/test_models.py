"""The emulator's backend without HTTP: meetings as typed records and their recurrence arithmetic,
driven straight through ``zoom_emulator.models`` (no app, no server, no request)."""

from __future__ import annotations

import pytest

from zoom_emulator import EmulatorConfig
from zoom_emulator.models import meetings
from zoom_emulator.models.errors import ZoomError
from zoom_emulator.models.inputs import MeetingIn
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
