"""Meeting and user tasks in Prefect flows, against the emulator over real HTTP."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.connections import oauth_credentials, s2s_block_without, s2s_credentials
from helpers.flows import failure_and_runs, run_count
from prefect import flow, unmapped

from prefect_zoom.exceptions import (
    ZoomInputError,
    ZoomMissingScopesError,
    ZoomNotFoundError,
    ZoomRateLimitError,
)
from prefect_zoom.models import InviteLink, Meeting, Registrant, ScheduledMeeting, User
from prefect_zoom.tasks import (
    add_meeting_registrant,
    create_invitation_links,
    create_meeting,
    delete_meeting,
    get_meeting,
    get_meeting_invitation,
    get_user,
    list_meetings,
    list_users,
    schedule_meeting_once,
    schedule_one_time_meeting,
    schedule_recurring_meeting,
    update_meeting,
)
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator
from zoom_emulator.models.ratelimit import MEETING_WRITES_PER_DAY

CREATE_ROUTE = "POST /v2/users/{userId}/meetings"
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(
    hour=15, minute=0, second=0, microsecond=0
)


def configured(**settings: object) -> pytest.MarkDecorator:
    """Start this test's emulator with these settings (overrides the ``emulator_config`` fixture)."""
    return pytest.mark.parametrize("emulator_config", [EmulatorConfig(**settings)], ids=["cfg"])


def requests_made(emulator: ZoomEmulator) -> int:
    return emulator.state.counters["requests"]


def input_error(call: Callable[[], Any]) -> ZoomInputError:
    with pytest.raises(ZoomInputError) as caught:
        call()
    return caught.value


# ---- the whole life of a meeting --------------------------------------------------------------
def test_meeting_lifecycle_by_block_name(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    @flow
    def lifecycle(credentials: str) -> dict[str, Any]:
        created = create_meeting(
            credentials,
            {
                "topic": "Quarterly review",
                "type": 2,
                "start_time": TOMORROW,
                "duration": 45,
                "password": "abc123",
                "settings": {"approval_type": 0, "waiting_room": True},
            },
        )
        fetched = get_meeting(credentials, created.id)
        updated = update_meeting(credentials, created.id, {"topic": "Quarterly review (moved)"})
        listed = list_meetings(credentials)
        links = create_invitation_links(credentials, created.id, ["Ada", "Grace"], ttl_seconds=600)
        invitation = get_meeting_invitation(credentials, created.id)
        registrant = add_meeting_registrant(
            credentials, created.id, {"email": "ada@example.com", "first_name": "Ada"}
        )
        delete_meeting(credentials, created.id)
        return {
            "created": created,
            "fetched": fetched,
            "updated": updated,
            "listed": listed,
            "links": links,
            "invitation": invitation,
            "registrant": registrant,
        }

    out = lifecycle(block_name)
    created: Meeting = out["created"]
    assert isinstance(created.id, int) and created.join_url
    assert created.start_time == TOMORROW and created.duration == 45
    assert created.password == "abc123"
    fetched: Meeting = out["fetched"]
    assert fetched.id == created.id and fetched.uuid and fetched.host_id
    assert out["updated"].topic == "Quarterly review (moved)"
    assert out["updated"].duration == 45
    assert [m.id for m in out["listed"]] == [created.id]
    links: list[InviteLink] = out["links"]
    assert [link.name for link in links] == ["Ada", "Grace"]
    assert all(str(created.id) in link.join_url for link in links)
    assert "Quarterly review (moved)" in out["invitation"]
    assert created.join_url in out["invitation"]
    registrant: Registrant = out["registrant"]
    assert registrant.registrant_id and registrant.join_url
    assert created.id not in zoom_emulator.state.meetings

    @flow
    def fetch_deleted(credentials: str, meeting_id: int) -> Meeting:
        return get_meeting(credentials, meeting_id)

    with pytest.raises(ZoomNotFoundError) as caught:
        fetch_deleted(block_name, created.id)
    error = caught.value
    assert error.status == 404 and error.code == 3001
    assert error.message and str(created.id) in error.message
    assert error.tracking_id
    assert error.tracking_id in str(error)


def test_tasks_accept_a_block_object(zoom_emulator: ZoomEmulator) -> None:
    credentials = s2s_credentials(zoom_emulator)

    @flow
    def with_block() -> tuple[Meeting, Meeting]:
        naive_local = datetime(2031, 3, 4, 9, 30)
        berlin = schedule_one_time_meeting(
            credentials, "Stand-up", naive_local, 15, timezone="Europe/Berlin"
        )
        occurrence_free = update_meeting(credentials, berlin.id, {"duration": 20})
        return berlin, occurrence_free

    berlin, updated = with_block()
    assert berlin.type == 2 and berlin.timezone == "Europe/Berlin"
    assert berlin.start_time == datetime(2031, 3, 4, 8, 30, tzinfo=UTC)
    assert updated.duration == 20 and updated.topic == "Stand-up"
    assert zoom_emulator.state.counters["grant account_credentials"] == 1


def test_logs_hold_neither_start_url_nor_passcode(
    zoom_emulator: ZoomEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = s2s_credentials(zoom_emulator)
    meeting = schedule_one_time_meeting.fn(
        credentials, "Private", TOMORROW, 30, password="s3cr3t"
    )  # outside a run: the module logger is used
    start_url = str(meeting.model_extra["start_url"])  # type: ignore[index]
    assert "Created Zoom meeting" in caplog.text and str(meeting.id) in caplog.text
    assert start_url not in caplog.text and "s3cr3t" not in caplog.text
    assert "start_url" not in repr(meeting) and "s3cr3t" not in repr(meeting)


# ---- recurring meetings -----------------------------------------------------------------------
def test_recurring_meetings_have_occurrences(block_name: str) -> None:
    start = datetime(2031, 1, 6, 9, 0, tzinfo=UTC)  # a Monday

    @flow
    def recurring(credentials: str) -> list[Meeting]:
        return [
            schedule_recurring_meeting(
                credentials, "Daily", start, 15, {"type": 1, "repeat_interval": 2, "end_times": 3}
            ),
            schedule_recurring_meeting(
                credentials,
                "Weekly",
                start,
                30,
                {"type": 2, "weekly_days": "monday,thursday", "end_times": 4},
            ),
            schedule_recurring_meeting(
                credentials, "Monthly", start, 60, {"type": 3, "monthly_day": 15, "end_times": 2}
            ),
            schedule_recurring_meeting(
                credentials,
                "Last Friday",
                start,
                60,
                {
                    "type": 3,
                    "monthly_week": -1,
                    "monthly_week_day": 6,
                    "end_date_time": datetime(2031, 4, 30, tzinfo=UTC),
                },
            ),
        ]

    daily, weekly, monthly, last_friday = recurring(block_name)
    assert all(m.type == 8 for m in (daily, weekly, monthly, last_friday))
    assert [o.start_time.day for o in daily.occurrences] == [6, 8, 10]
    assert [o.start_time.strftime("%a %d") for o in weekly.occurrences] == [
        "Mon 06",
        "Thu 09",
        "Mon 13",
        "Thu 16",
    ]
    assert [(o.start_time.month, o.start_time.day) for o in monthly.occurrences] == [
        (1, 15),
        (2, 15),
    ]
    assert [o.start_time.date().isoformat() for o in last_friday.occurrences] == [
        "2031-01-31",
        "2031-02-28",
        "2031-03-28",
        "2031-04-25",
    ]
    assert all(o.occurrence_id for o in daily.occurrences)


# ---- input checked before any request ---------------------------------------------------------
def test_bad_input_fails_before_any_request(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    naive = datetime(2031, 1, 6, 9, 0)
    cases: list[tuple[str, Callable[[], Any]]] = [
        (
            "meeting.password",
            lambda: schedule_one_time_meeting(block_name, "t", TOMORROW, 30, password="x" * 11),
        ),
        ("start_time", lambda: schedule_one_time_meeting(block_name, "t", naive, 30)),
        (
            "weekly_days",
            lambda: schedule_recurring_meeting(block_name, "t", TOMORROW, 30, {"type": 2}),
        ),
        (
            "end_date_time",
            lambda: schedule_recurring_meeting(
                block_name,
                "t",
                TOMORROW,
                30,
                {"type": 1, "end_times": 3, "end_date_time": TOMORROW + timedelta(days=9)},
            ),
        ),
        ("attendee_names", lambda: create_invitation_links(block_name, 81000000001, [])),
        (
            "attendee_names",
            lambda: create_invitation_links(block_name, 81000000001, ["a"] * 501),
        ),
        (
            "ttl_seconds",
            lambda: create_invitation_links(block_name, 81000000001, ["a"], 7_776_001),
        ),
        ("meeting_id", lambda: get_meeting(block_name, 0)),
        ("meeting_id", lambda: delete_meeting(block_name, "not-an-id")),  # type: ignore[call-overload]
        ("changes", lambda: update_meeting(block_name, 81000000001, {})),
        (
            "registrant.email",
            lambda: add_meeting_registrant(
                block_name, 81000000001, {"email": "nope", "first_name": "A"}
            ),
        ),
        ("type", lambda: list_meetings(block_name, type="soon")),  # type: ignore[call-overload]
        ("status", lambda: list_users(block_name, status="gone")),  # type: ignore[call-overload]
        ("meeting.topic", lambda: create_meeting(block_name, {"topic": "x" * 201})),
    ]

    @flow
    def bad_inputs() -> list[tuple[str, ZoomInputError]]:
        errors = []
        for field, call in cases:
            errors.append((field, input_error(call)))
        return errors

    before = requests_made(zoom_emulator)
    errors = bad_inputs()
    assert requests_made(zoom_emulator) == before == 0
    for field, error in errors:
        assert field in str(error), (field, str(error))
        assert "nothing was sent" in str(error).lower() or error.fix


# ---- failures: scopes, limits, transient errors -----------------------------------------------
def test_missing_scope_is_raised_at_once(zoom_emulator: ZoomEmulator) -> None:
    name = s2s_block_without(zoom_emulator, "meeting:write")

    @flow
    def create(credentials: str) -> tuple[BaseException, int]:
        state = schedule_one_time_meeting(credentials, "No scope", TOMORROW, 30, return_state=True)
        return failure_and_runs(state)

    # the token's scopes are not known yet: Zoom answers 400/4711
    error, runs = create(name)
    assert isinstance(error, ZoomMissingScopesError)
    assert runs == 1
    assert error.status == 400 and error.code == 4711
    assert error.scopes_to_add == ["meeting:write", "meeting:write:meeting"]
    assert "meeting:write:meeting" in error.hint
    counters = zoom_emulator.state.counters
    assert counters[f"{CREATE_ROUTE} 400"] == 1  # sent once: neither the client nor Prefect retried

    before = requests_made(zoom_emulator)
    error, runs = create(name)  # now the saved block knows its scopes: nothing is sent
    assert isinstance(error, ZoomMissingScopesError) and runs == 1
    assert requests_made(zoom_emulator) == before
    assert error.scopes_to_add == ["meeting:write", "meeting:write:meeting"]


@configured(rate_limits="pro")
def test_daily_meeting_limit_is_not_retried(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    owner = zoom_emulator.state.owner()
    limiter = zoom_emulator.app.state.rate_limiter
    today = datetime.now(UTC).date()
    limiter._meeting_writes[(owner.id, today.isoformat())] = MEETING_WRITES_PER_DAY

    @flow
    def create(credentials: str) -> tuple[BaseException, int]:
        state = create_meeting(
            credentials, {"topic": "One too many", "start_time": TOMORROW}, return_state=True
        )
        return failure_and_runs(state)

    error, runs = create(block_name)
    assert isinstance(error, ZoomRateLimitError) and runs == 1
    assert error.status == 429 and error.limit_type == "Daily-limit"
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    assert error.reset_at == midnight
    assert midnight.isoformat() in str(error)
    assert zoom_emulator.state.counters["rate_limited Daily-limit"] == 1
    assert zoom_emulator.state.counters[f"{CREATE_ROUTE} 429"] == 1


def _seed_failing_once() -> int:
    """A fault seed whose dice fail the first request at error_rate 0.5 and pass the second."""
    for seed in range(1000):
        dice = random.Random(seed)
        if dice.random() < 0.5:
            dice.choice([500, 502, 503, 504])
            if dice.random() >= 0.5:
                return seed
    raise AssertionError("no seed found")  # pragma: no cover


@configured(faults=FaultSettings(seed=_seed_failing_once()))
def test_transient_5xx_on_get_is_retried(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator
) -> None:
    credentials = s2s_credentials(zoom_emulator)

    @flow
    def flaky() -> Meeting:
        meeting = schedule_one_time_meeting(credentials, "Flaky", TOMORROW, 30)
        zoom_emulator.state.config.faults.error_rate = 0.5
        try:
            return get_meeting(credentials, meeting.id)
        finally:
            zoom_emulator.state.config.faults.error_rate = 0.0

    meeting = flaky()
    assert meeting.topic == "Flaky"
    counters = zoom_emulator.state.counters
    assert counters["fault 5xx"] == 1
    assert counters["GET /v2/meetings/{meetingId} 200"] == 1


# ---- safe to run again: schedule_meeting_once ----------------------------------------------------
def test_schedule_meeting_once_twice_makes_one_meeting(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    weekly = {"type": 2, "weekly_days": "monday", "end_times": 3}

    @flow
    def twice(credentials: str) -> tuple[ScheduledMeeting, ScheduledMeeting, ScheduledMeeting]:
        first = schedule_meeting_once(
            credentials, "Planning", TOMORROW, 30, recurrence=weekly, agenda="Goals " * 60
        )
        # other columns may change: the key is host, topic, start and recurrence
        again = schedule_meeting_once(
            credentials, "Planning", TOMORROW, 45, recurrence=weekly, agenda="Other"
        )
        other = schedule_meeting_once(
            credentials, "Planning", TOMORROW + timedelta(hours=1), 30, recurrence=weekly
        )
        return first, again, other

    first, again, other = twice(block_name)

    assert not first.already_scheduled and first.meeting.type == 8
    assert again.already_scheduled and again.meeting.id == first.meeting.id
    assert again.key == first.key
    assert not other.already_scheduled and other.key != first.key
    stored = zoom_emulator.state.meetings
    assert sorted(stored) == sorted([first.meeting.id, other.meeting.id])
    # the key leads the agenda, so Zoom's list (agendas cut to 250 characters) still shows it
    agenda = stored[first.meeting.id].agenda
    assert agenda == f"[prefect-zoom {first.key}]\n" + "Goals " * 60
    assert stored[first.meeting.id].duration == 30


def test_the_schedule_key_is_host_topic_start_and_recurrence() -> None:
    from prefect_zoom.tasks.meetings import keyed_request

    def key(**changes: Any) -> str:
        fields: dict[str, Any] = {
            "user_id": "me",
            "topic": "Sync",
            "start_time": datetime(2030, 5, 17, 13, 0, tzinfo=UTC),
            "duration_minutes": 30,
        }
        return keyed_request(**(fields | changes))[1]

    same = key()
    # the same instant written as local time, another duration, passcode or agenda: same meeting
    assert key(start_time=datetime(2030, 5, 17, 15, 0), timezone="Europe/Berlin") == same
    assert key(user_id=" ME", duration_minutes=45, password="abc", agenda="Notes") == same
    assert key(topic="Sync 2") != same
    assert key(user_id="owner@example.com") != same
    assert key(start_time=datetime(2030, 5, 17, 14, 0, tzinfo=UTC)) != same
    assert key(recurrence={"type": 1, "end_times": 3}) != same


@configured(faults=FaultSettings(lost_write_rate=1.0))
def test_schedule_meeting_once_retry_finds_the_meeting_whose_answer_was_lost(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    @flow
    def lost(credentials: str) -> tuple[ScheduledMeeting, int]:
        state = schedule_meeting_once(credentials, "Lost answer", TOMORROW, 30, return_state=True)
        return state.result(), run_count(state)

    found, runs = lost(block_name)

    assert zoom_emulator.state.counters["fault lost write"] == 1
    assert runs == 2 and found.already_scheduled
    assert list(zoom_emulator.state.meetings) == [found.meeting.id]


def test_schedule_meeting_once_keeps_room_for_its_key(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    error = input_error(
        lambda: schedule_meeting_once.fn(block_name, "Long", TOMORROW, 30, agenda="x" * 1990)
    )
    assert error.field == "meeting.agenda" and "at most 1964" in str(error)
    assert requests_made(zoom_emulator) == 0


# ---- futures: submit, map, async flows --------------------------------------------------------
def test_submit_and_map(block_name: str) -> None:
    @flow
    def fan_out(credentials: str) -> tuple[list[Meeting], list[Meeting], list[str]]:
        futures = [
            create_meeting.submit(credentials, {"topic": f"Team {n}", "start_time": TOMORROW})
            for n in range(3)
        ]
        created = [future.result() for future in futures]
        ids = [meeting.id for meeting in created]
        fetched = get_meeting.map(unmapped(credentials), ids).result()
        invitations = get_meeting_invitation.map(unmapped(credentials), ids).result()
        delete_meeting.map(unmapped(credentials), ids).result()
        return created, fetched, invitations

    created, fetched, invitations = fan_out(block_name)
    assert [m.id for m in fetched] == [m.id for m in created]
    assert [m.topic for m in fetched] == ["Team 0", "Team 1", "Team 2"]
    assert all(f"Topic: Team {n}" in text for n, text in enumerate(invitations))


async def test_async_flow(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    @flow
    async def plan(credentials: str) -> tuple[Meeting, Meeting, User, list[Meeting]]:
        created = schedule_recurring_meeting(
            credentials,
            "Async weekly",
            TOMORROW,
            30,
            {"type": 2, "weekly_days": [2, 4], "end_times": 2},
        )
        moved = get_meeting.submit(credentials, created.id).result()
        me = get_user(credentials)
        meetings = list_meetings(credentials, type="upcoming")
        return created, moved, me, meetings

    created, fetched, me, meetings = await plan(block_name)
    assert len(created.occurrences) == 2 and fetched.id == created.id
    assert me.email == zoom_emulator.config.user_email
    assert [m.id for m in meetings] == [created.id]


# ---- users ------------------------------------------------------------------------------------
@configured(seed_users=3)
def test_get_and_list_users(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    @flow
    def people(credentials: str) -> tuple[User, list[User], User]:
        me = get_user(credentials)
        everyone = list_users(credentials)
        other = next(u for u in everyone if u.id != me.id)
        return me, everyone, get_user(credentials, other.email)

    me, everyone, other = people(block_name)
    assert me.email == zoom_emulator.config.user_email and me.account_id
    assert len(everyone) == 3 and all(u.status == "active" for u in everyone)
    assert me.id in {u.id for u in everyone}
    assert other.id != me.id and other.email in {u.email for u in everyone}


def test_user_info_read_is_enough_for_me(zoom_emulator: ZoomEmulator) -> None:
    zoom_emulator.state.apps[zoom_emulator.config.oauth_client_id].scopes = ["user_info:read"]
    credentials = oauth_credentials(zoom_emulator)

    @flow
    def who() -> User:
        return get_user(credentials)

    assert who().email == zoom_emulator.config.user_email

    @flow
    def someone_else() -> User:
        return get_user(credentials, "someone@example.com")

    before = requests_made(zoom_emulator)
    with pytest.raises(ZoomMissingScopesError) as caught:
        someone_else()
    assert requests_made(zoom_emulator) == before
    assert "user:read:user" in caught.value.scopes_to_add


def test_creates_are_retried_only_when_zoom_did_not_act() -> None:
    import httpx
    from prefect.states import Failed

    from prefect_zoom.exceptions import ZoomServerError
    from prefect_zoom.tasks.meetings import retry_if_not_created

    def retried(error: BaseException) -> bool:
        return retry_if_not_created(None, None, Failed(data=error))  # type: ignore[arg-type]

    never_sent = ZoomServerError("Zoom could not be reached")
    never_sent.__cause__ = httpx.ConnectError("refused")
    assert retried(never_sent)
    assert retried(ZoomRateLimitError("slow down", status=429, limit_type="QPS"))
    assert not retried(ZoomRateLimitError("tomorrow", status=429, limit_type="Daily-limit"))
    assert not retried(ZoomServerError("Internal Server Error", status=500))  # may have created
    assert not retried(ZoomInputError("meeting.topic", "too long", "shorten it"))
