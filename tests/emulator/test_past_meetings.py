"""The emulator's ended meetings over real HTTP: instances, details, participants and the
report, checked against Zoom's OpenAPI spec, and the ``meeting.ended`` webhook of a held meeting."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from helpers.webhooks import subscribed_receiver
from helpers.zoom_spec import assert_matches_spec

from emulator.conftest import assert_zoom_error, create, mint_token, scoped_client
from zoom_emulator import ZoomEmulator

INSTANCES = "/past_meetings/{meetingId}/instances"
DETAILS = "/past_meetings/{meetingId}"
PARTICIPANTS = "/past_meetings/{meetingId}/participants"
REPORT = "/report/meetings/{meetingId}/participants"
SLASHED_UUID = "/ab//cdEFghIJklMNopQR=="


def hold(emulator: ZoomEmulator, **fields: Any) -> dict[str, Any]:
    """Hold a meeting through the control API; its details as answered."""
    answer: dict[str, Any] = emulator.control("POST", "past_meetings", json=fields)
    return answer


def ref(uuid: str) -> str:
    """A UUID as a path segment, encoded as Zoom wants (twice when it holds ``/``)."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


RAJ = {"name": "Raj Guest", "email": "raj@elsewhere.example", "sessions": [[0, 10], [20, 45]]}
OWNER = {"name": "Olivia Owner", "email": "owner@example.com", "sessions": [[0, 45]]}


def test_instances_details_and_participants(
    zoom_emulator: ZoomEmulator, client: httpx.Client
) -> None:
    meeting = create(client, {"topic": "Weekly sync", "start_time": "2026-11-02T09:00:00Z"})
    first = hold(
        zoom_emulator,
        meeting_id=meeting["id"],
        start_time="2026-11-02T09:00:00Z",
        duration=45,
        attendees=[OWNER, RAJ],
    )
    second = hold(
        zoom_emulator,
        meeting_id=meeting["id"],
        start_time="2026-11-09T09:00:00Z",
        uuid=SLASHED_UUID,
        attendees=[OWNER],
    )
    assert second["uuid"] == SLASHED_UUID and second["topic"] == "Weekly sync"
    listed = client.get(f"/past_meetings/{meeting['id']}/instances")
    body = assert_matches_spec(listed, "GET", INSTANCES)
    assert body["meetings"] == [
        {"uuid": first["uuid"], "start_time": "2026-11-02T09:00:00Z"},
        {"uuid": SLASHED_UUID, "start_time": "2026-11-09T09:00:00Z"},
    ]
    details = assert_matches_spec(
        client.get(f"/past_meetings/{ref(first['uuid'])}"), "GET", DETAILS
    )
    assert details == first
    assert (details["topic"], details["duration"], details["participants_count"]) == (
        "Weekly sync",
        45,
        2,
    )
    assert details["end_time"] == "2026-11-02T09:45:00Z" and details["total_minutes"] == 80
    latest = client.get(f"/past_meetings/{meeting['id']}").json()
    assert latest["uuid"] == SLASHED_UUID  # a number means the latest instance
    rows = assert_matches_spec(
        client.get(f"/past_meetings/{ref(first['uuid'])}/participants"), "GET", PARTICIPANTS
    )["participants"]
    owner = zoom_emulator.state.owner()
    assert [(r["name"], r["join_time"], r["leave_time"], r["duration"]) for r in rows] == [
        ("Olivia Owner", "2026-11-02T09:00:00Z", "2026-11-02T09:45:00Z", 2700),
        ("Raj Guest", "2026-11-02T09:00:00Z", "2026-11-02T09:10:00Z", 600),
        ("Raj Guest", "2026-11-02T09:20:00Z", "2026-11-02T09:45:00Z", 1500),
    ]
    assert [(r["id"], r["user_email"]) for r in rows] == [
        (owner.id, "owner@example.com"),
        ("", ""),  # a guest: no user id, and Zoom hides an outside email
        ("", ""),
    ]
    assert rows[1]["user_id"] == rows[2]["user_id"] != rows[0]["user_id"]
    slashed = client.get(f"/past_meetings/{ref(SLASHED_UUID)}/participants")
    assert [
        r["name"] for r in assert_matches_spec(slashed, "GET", PARTICIPANTS)["participants"]
    ] == ["Olivia Owner"]


def test_pages_of_both_views(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    people = [{"name": f"P{n:02d}", "sessions": [[n, n + 5]]} for n in range(7)]
    held = hold(zoom_emulator, duration=20, attendees=people)
    for template, path in (
        (PARTICIPANTS, f"/past_meetings/{ref(held['uuid'])}/participants"),
        (REPORT, f"/report/meetings/{ref(held['uuid'])}/participants"),
    ):
        names, token = [], ""
        for _ in range(4):
            page = client.get(path, params={"page_size": 3, "next_page_token": token})
            body = assert_matches_spec(page, "GET", template)
            assert body["total_records"] == 7 and body["page_size"] == 3
            names += [r["name"] for r in body["participants"]]
            token = body["next_page_token"]
            if not token:
                break
        assert names == [f"P{n:02d}" for n in range(7)]


def test_seeded_recordings_were_held(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    recording = next(iter(zoom_emulator.state.recordings.values()))
    rows = client.get(f"/past_meetings/{ref(recording.uuid)}/participants").json()["participants"]
    names = [r["name"] for r in rows]
    assert names.count("Ada Lovelace") == 2 and names.count("Alan Turing") == 1
    instances = client.get(f"/past_meetings/{recording.meeting_id}/instances").json()
    assert [i["uuid"] for i in instances["meetings"]] == [recording.uuid]


def test_errors(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    assert_zoom_error(
        client.get("/past_meetings/81999999999/instances"),
        404,
        3001,
        "Meeting does not exist: 81999999999.",
    )
    scheduled = create(client, {"topic": "Not held yet"})
    empty = client.get(f"/past_meetings/{scheduled['id']}/instances")
    assert assert_matches_spec(empty, "GET", INSTANCES) == {"meetings": []}
    not_ended = "The meeting ID is invalid or the meeting has not ended."
    for path in (f"/past_meetings/{scheduled['id']}", "/report/meetings/NoSuchUuid==/participants"):
        assert_zoom_error(client.get(path), 404, 3001, not_ended)
    inner = hold(zoom_emulator, uuid="in/side==", attendees=[OWNER])  # "/" but not first
    assert client.get(f"/past_meetings/{quote(inner['uuid'], safe='')}").json() == inner
    hold(zoom_emulator, uuid=SLASHED_UUID, attendees=[OWNER])
    assert client.get(f"/past_meetings/{ref(SLASHED_UUID)}/participants").status_code == 200
    assert_zoom_error(  # "/" first, encoded once only: Zoom loses it and finds nothing
        client.get(f"/past_meetings/{quote(SLASHED_UUID, safe='')}/participants"),
        404,
        3001,
        not_ended,
    )
    held = hold(zoom_emulator, attendees=[OWNER])
    account = zoom_emulator.state.accounts[zoom_emulator.config.account_id]
    account.plan = "basic"
    paid_only = f"Only available for paid account: {account.id}."
    for path in (
        f"/past_meetings/{held['id']}",
        f"/past_meetings/{held['id']}/participants",
        f"/report/meetings/{held['id']}/participants",
    ):
        assert_zoom_error(client.get(path), 400, 200, paid_only)
    assert client.get(f"/past_meetings/{held['id']}/instances").status_code == 200


def test_scopes_and_other_hosts(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    held = hold(zoom_emulator, attendees=[OWNER])
    with scoped_client(zoom_emulator, ["meeting:read"]) as http:
        assert http.get(f"/past_meetings/{held['id']}/participants").status_code == 200
        body = assert_zoom_error(http.get(f"/report/meetings/{held['id']}/participants"), 400, 4711)
        assert "report:read:list_meeting_participants:admin" in body["message"]
    with scoped_client(zoom_emulator, ["report:read:admin"]) as http:
        assert http.get(f"/report/meetings/{held['id']}/participants").status_code == 200
        assert_zoom_error(http.get(f"/past_meetings/{held['id']}/participants"), 400, 4711)
    other = zoom_emulator.state.add_user("member@example.com", "Mem", "Ber")
    token = mint_token(
        zoom_emulator, ["meeting:read"], kind="oauth", user_email="member@example.com"
    )
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=zoom_emulator.api_url, headers=headers) as http:
        refused = http.get(f"/past_meetings/{held['id']}/participants")
        assert_zoom_error(refused, 400, 300, "Cannot access meeting information.")
    assert other.account_id == zoom_emulator.config.account_id  # same account, not its host


def test_holding_a_meeting_sends_meeting_ended(zoom_emulator: ZoomEmulator) -> None:
    with subscribed_receiver(zoom_emulator) as (app, emit):
        held = hold(zoom_emulator, topic="Retro", start_time="2026-11-20T15:00:00Z", duration=50)
        sent = zoom_emulator.control("GET", "webhook/deliveries", params={"wait": 10}, timeout=15)
        assert [d["event"] for d in sent["deliveries"]][-1] == "meeting.ended"
        assert sent["deliveries"][-1]["delivered"] is True
        assert app.state.receiver.drain(10)
    assert emit.events == ["zoom.meeting.ended"]
    event = emit.calls[0]
    assert event["resource"]["zoom.meeting-uuid"] == held["uuid"]
    assert event["resource"]["zoom.meeting-id"] == str(held["id"])
    assert event["payload"]["object"] == {
        "id": str(held["id"]),
        "uuid": held["uuid"],
        "host_id": held["host_id"],
        "topic": "Retro",
        "type": 2,
        "start_time": "2026-11-20T15:00:00Z",
        "end_time": "2026-11-20T15:50:00Z",
        "timezone": "UTC",
        "duration": 50,
    }
