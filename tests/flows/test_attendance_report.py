"""The ``attendance_report`` flow against the emulator: merged rows, CSV files, the artifact,
re-runs, hostile names, the report view, a day's meetings, missing scopes and a free plan."""

from __future__ import annotations

import copy
import csv
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from helpers.connections import s2s_credentials
from helpers.webhooks import subscribed_receiver
from prefect.events import Event
from prefect.events.schemas.events import ResourceSpecification
from prefect.server.events.actions import RunDeployment
from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate
from test_flows_basic import artifact_data

from prefect_zoom.capabilities import capabilities
from prefect_zoom.client.errors import PAID_PLAN_HINT
from prefect_zoom.exceptions import ZoomAPIError, ZoomInputError, ZoomMissingScopesError
from prefect_zoom.flows import attendance_report
from zoom_emulator import ZoomEmulator

ARTIFACT = "zoom-attendance"
HOSTILE = '=HYPERLINK("http://evil.example","click")'
SLASHED_UUID = "/../..//etc/passwd=="
PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"


def hold(emulator: ZoomEmulator, **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = emulator.control("POST", "past_meetings", json=fields)
    return answer


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ATTENDEES = [
    {"name": "Olivia Owner", "email": "owner@example.com", "sessions": [[0, 60]]},
    # dropped out and came back, and a second device overlapping the first stretch
    {"name": "Ada Lovelace", "sessions": [[5, 20], [30, 50], [10, 15]]},
    {"name": HOSTILE, "sessions": [[2, 3]]},
]


def test_merged_rows_csv_artifact_and_rerun(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    first = hold(
        zoom_emulator,
        topic=HOSTILE,
        start_time="2026-11-02T09:00:00Z",
        duration=60,
        attendees=ATTENDEES,
    )
    second = hold(
        zoom_emulator,
        meeting_id=first["id"],
        start_time="2026-11-09T09:00:00Z",
        uuid=SLASHED_UUID,
        attendees=ATTENDEES[:1],
    )
    folder = tmp_path / "attendance"
    state = attendance_report(
        block_name, meeting_id=first["id"], destination=str(folder), return_state=True
    )
    paths: list[str] = state.result()
    assert [Path(p).parent for p in paths] == [folder.resolve()] * 2  # the slashes stay out
    assert all(Path(p).name.startswith(f"{first['id']}_") for p in paths)
    rows = read_csv(paths[0])
    assert [(r["name"], r["email"], r["minutes"], r["joins"]) for r in rows] == [
        ("Olivia Owner", "owner@example.com", "60.0", "1"),
        ("'" + HOSTILE, "", "1.0", "1"),  # a formula is written as text
        ("Ada Lovelace", "", "35.0", "3"),  # 5-20 and 30-50; the second device counted once
    ]
    ada = rows[2]
    assert (ada["first_join"], ada["last_leave"]) == (
        "2026-11-02T09:05:00+00:00",
        "2026-11-02T09:50:00+00:00",
    )
    assert {r["meeting_uuid"] for r in rows} == {first["uuid"]}
    assert [r["meeting_uuid"] for r in read_csv(paths[1])] == [second["uuid"]]
    table = artifact_data(state, ARTIFACT)
    assert [(r["name"], r["minutes"]) for r in table] == [
        ("Olivia Owner", "60.0"),
        (HOSTILE, "1.0"),
        ("Ada Lovelace", "35.0"),
        ("Olivia Owner", "60.0"),
    ]
    before = {p: Path(p).read_bytes() for p in paths}
    again = attendance_report(block_name, meeting_id=first["id"], destination=str(folder))
    assert again == paths
    assert {p: Path(p).read_bytes() for p in again} == before
    assert sorted(folder.iterdir()) == sorted(Path(p) for p in paths)  # no temporary files left


def test_one_instance_from_the_report_view(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    held = hold(zoom_emulator, uuid=SLASHED_UUID, attendees=ATTENDEES[1:2])
    paths = attendance_report(
        block_name,
        meeting_id=held["id"],
        meeting_uuid=SLASHED_UUID,
        view="report",
        destination=str(tmp_path),
    )
    assert [(r["name"], r["joins"], r["instance_start"]) for r in read_csv(paths[0])] == [
        ("Ada Lovelace", "3", "")
    ]
    counters = zoom_emulator.state.counters
    assert counters["GET /v2/report/meetings/{meetingId}/participants 200"] == 1
    assert counters["GET /v2/past_meetings/{meetingId}/instances 200"] == 0


def test_every_meeting_of_a_day(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    body = {"topic": "Daily", "start_time": "2026-11-03T08:00:00Z", "duration": 30}
    meeting = zoom_emulator.control("POST", "meetings", json=body)
    kept = hold(
        zoom_emulator,
        meeting_id=meeting["id"],
        start_time="2026-11-03T08:00:00Z",
        attendees=ATTENDEES[:1],
    )
    hold(
        zoom_emulator,
        meeting_id=meeting["id"],
        start_time="2026-11-04T08:00:00Z",
        attendees=ATTENDEES[1:2],
    )
    paths = attendance_report(
        block_name, day=date(2026, 11, 3), user_id="me", destination=str(tmp_path)
    )
    assert len(paths) == 1
    rows = read_csv(paths[0])
    assert [(r["meeting_uuid"], r["name"], r["instance_start"]) for r in rows] == [
        (kept["uuid"], "Olivia Owner", "2026-11-03T08:00:00+00:00")
    ]
    assert Path(paths[0]).name.startswith(f"{meeting['id']}_")


def test_missing_scope_and_free_plan_are_clear(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    held = hold(zoom_emulator, attendees=ATTENDEES[:1])
    app = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
    app.scopes = [s for s in app.scopes if not s.startswith("report:")]
    no_report = f"zoom-s2s-{uuid.uuid4().hex[:10]}"
    s2s_credentials(zoom_emulator).save(no_report, overwrite=True)
    state = attendance_report(
        no_report,
        meeting_id=held["id"],
        view="report",
        destination=str(tmp_path),
        return_state=True,
    )
    error = state.result(raise_on_failure=False)
    assert state.is_failed() and isinstance(error, ZoomMissingScopesError)
    assert "report:read:admin" in error.hint and "view='past_meetings'" in error.hint
    assert zoom_emulator.state.counters["GET /v2/report/meetings/{meetingId}/participants 400"] == 0

    zoom_emulator.state.accounts[zoom_emulator.config.account_id].plan = "basic"
    state = attendance_report(
        block_name, meeting_id=held["id"], destination=str(tmp_path), return_state=True
    )
    error = state.result(raise_on_failure=False)
    assert state.is_failed() and isinstance(error, ZoomAPIError) and error.code == 200
    assert error.hint == PAID_PLAN_HINT
    assert list(tmp_path.iterdir()) == []


def test_bad_choices_are_refused_before_any_request(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    before = zoom_emulator.state.counters["requests"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "meeting_id"),
        ({"day": date(2026, 11, 3), "meeting_id": 81000000001}, "day"),
        ({"meeting_uuid": "  "}, "meeting_uuid"),
        ({"meeting_id": -4}, "meeting_id"),
        ({"last_days": 0}, "last_days"),
        ({"last_days": 7, "day": date(2026, 11, 3)}, "last_days"),
        ({"last_days": 7, "meeting_id": 81000000001}, "day"),
    ]
    for kwargs, field in cases:
        state = attendance_report(
            block_name, destination=str(tmp_path), return_state=True, **kwargs
        )
        error = state.result(raise_on_failure=False)
        assert state.is_failed() and isinstance(error, ZoomInputError), (kwargs, error)
        assert error.field == field, (kwargs, error)
    assert zoom_emulator.state.counters["requests"] == before


def test_check_lists_the_attendance_activities_and_flow() -> None:
    by_name = {c.name: c for c in capabilities(["meeting:read"])}
    assert by_name["list_past_meeting_participants"].tasks == ("list_past_meeting_participants",)
    assert by_name["report_meeting_participants"].tasks == ("report_meeting_participants",)
    assert not by_name["report_meeting_participants"].can_run
    assert by_name["report_meeting_participants"].scopes_to_add == (
        "report:read:admin",
        "report:read:list_meeting_participants:admin",
    )
    flow = by_name["attendance_report"]
    assert flow.can_run and flow.operations == ("list_past_meeting_participants",)
    assert [o.feature for o in flow.unavailable_options] == [
        "the report view",
        "every user's meetings of those days (else your own)",
    ]
    report_only = {c.name: c for c in capabilities(["report:read:admin"])}["attendance_report"]
    assert report_only.scopes_to_add == ("meeting:read", "meeting:read:list_past_participants")


def test_last_days_reads_the_week_before_today(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    today = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    body = {"topic": "Daily", "start_time": (today - timedelta(days=9)).isoformat()}
    meeting = zoom_emulator.control("POST", "meetings", json=body)
    for days_ago in (8, 7, 1, 0):  # 8 days ago and today are outside the last 7 days
        start = (today - timedelta(days=days_ago)).isoformat()
        hold(zoom_emulator, meeting_id=meeting["id"], start_time=start, attendees=ATTENDEES[:1])
    paths = attendance_report(block_name, last_days=7, destination=str(tmp_path))
    starts = sorted(read_csv(p)[0]["instance_start"][:10] for p in paths)
    assert starts == [(today - timedelta(days=d)).date().isoformat() for d in (7, 1)]


def meeting_ended_event(zoom_emulator: ZoomEmulator, **fields: Any) -> tuple[Event, dict[str, Any]]:
    """Hold a meeting with the receiver subscribed: the Prefect event it made of meeting.ended."""
    with subscribed_receiver(zoom_emulator) as (app, emit):
        held = hold(zoom_emulator, **fields)
        zoom_emulator.control("GET", "webhook/deliveries", params={"wait": 10}, timeout=15)
        assert app.state.receiver.drain(10)
    (event,) = emit.calls
    return Event(**event), held


def test_the_meeting_ended_trigger_reports_that_instance(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    event, held = meeting_ended_event(zoom_emulator, uuid=SLASHED_UUID, attendees=ATTENDEES[1:2])
    document = yaml.safe_load(PREFECT_YAML.read_text())
    deployment = next(
        d for d in document["deployments"] if d["name"] == "attendance-on-meeting-ended"
    )
    assert deployment["entrypoint"] == "prefect_zoom.flows.attendance_report.attendance_report"
    (trigger,) = deployment["triggers"]
    assert trigger["expect"] == [event.event] == ["zoom.meeting.ended"]
    assert ResourceSpecification(trigger["match"]).matches(event.resource)
    parameters = copy.deepcopy(trigger["parameters"])
    RunDeployment._upgrade_v1_templates(parameters)  # as Prefect's trigger action renders them
    context = HydrationContext(
        raise_on_error=True, render_jinja=True, jinja_context={"event": event}
    )
    rendered = hydrate(parameters, context)
    assert rendered == {"meeting_id": str(held["id"]), "meeting_uuid": SLASHED_UUID}
    given = {**rendered, "credentials_block": block_name, "destination": str(tmp_path)}
    paths = attendance_report(**attendance_report.validate_parameters(given))
    assert [Path(p).name.split("_")[0] for p in paths] == [str(held["id"])]
    assert [(r["name"], r["joins"]) for r in read_csv(paths[0])] == [("Ada Lovelace", "3")]
