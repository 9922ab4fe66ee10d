"""An existing Zoom client (zoomus), pointed at the emulator with no changes of its own, just works.

This is how a new user would try the emulator: take the client they already use, swap the two base
URLs, and run the calls they know.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import requests
from zoomus import ZoomClient

from zoom_emulator import ZoomEmulator


def zoomus_client(zoom_emulator: ZoomEmulator) -> ZoomClient:
    """zoomus on the emulator's Server-to-Server app: only its two base URLs changed."""
    config = zoom_emulator.config
    return ZoomClient(
        config.s2s_client_id,
        config.s2s_client_secret,
        api_account_id=config.account_id,
        base_uri=zoom_emulator.api_url,
        oauth_uri=f"{zoom_emulator.oauth_url}/token",
    )


def test_zoomus_round_trip(zoom_emulator: ZoomEmulator) -> None:
    config = zoom_emulator.config
    client = zoomus_client(zoom_emulator)

    me = client.user.get(id="me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == config.user_email

    start = datetime.now(UTC) + timedelta(days=2)
    created = client.meeting.create(
        user_id="me", topic="Planning", start_time=start, duration=45, timezone="UTC"
    )
    assert created.status_code == 201, created.text
    meeting = created.json()
    assert isinstance(meeting["id"], int)
    fetched = client.meeting.get(id=meeting["id"])
    assert fetched.status_code == 200
    assert fetched.json()["topic"] == "Planning"

    yesterday = date.today() - timedelta(days=1)
    listed = client.recording.list(user_id="me", start=yesterday, end=date.today())
    assert listed.status_code == 200, listed.text
    meetings = listed.json()["meetings"]
    assert len(meetings) == config.recordings_per_user

    recording_file = meetings[0]["recording_files"][0]
    token = client.config["token"]
    download = requests.get(
        recording_file["download_url"], headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert download.status_code == 200
    assert len(download.content) == recording_file["file_size"]
    expected = zoom_emulator.control("GET", f"files/{recording_file['id']}")["sha256"]
    assert hashlib.sha256(download.content).hexdigest() == expected


def test_zoomus_users_lifecycle(zoom_emulator: ZoomEmulator) -> None:
    client = zoomus_client(zoom_emulator)
    info = {"email": "ada@example.com", "type": 1, "first_name": "Ada", "last_name": "Lovelace"}
    created = client.user.create(action="custCreate", user_info=info)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert client.user.get(id=user_id).json()["first_name"] == "Ada"
    assert client.user.update(id=user_id, dept="Research").status_code == 204
    assert client.user.update_status(id=user_id, action="deactivate").status_code == 200
    inactive = client.user.list(status="inactive").json()["users"]
    assert [(u["id"], u["dept"]) for u in inactive] == [(user_id, "Research")]
    assert client.user.delete(id=user_id, action="delete").status_code == 204
    assert client.user.get(id=user_id).status_code == 404


def test_zoomus_webinars(zoom_emulator: ZoomEmulator) -> None:
    client = zoomus_client(zoom_emulator)
    # zoomus sends webinar fields as given (its meeting create formats start_time itself)
    created = client.webinar.create(
        user_id="me", topic="Launch", type=5, start_time="2031-05-01T16:00:00Z", duration=60
    )
    assert created.status_code == 201, created.text
    webinar = created.json()
    fetched = client.webinar.get(id=webinar["id"])
    assert fetched.status_code == 200 and fetched.json()["topic"] == "Launch"
    listed = client.webinar.list(user_id="me")
    assert [w["id"] for w in listed.json()["webinars"]] == [webinar["id"]]
    assert client.webinar.delete(id=webinar["id"]).status_code == 204
    assert client.webinar.get(id=webinar["id"]).status_code == 404


def test_zoomus_past_meetings(zoom_emulator: ZoomEmulator) -> None:
    client = zoomus_client(zoom_emulator)
    held = zoom_emulator.control(
        "POST",
        "past_meetings",
        json={
            "uuid": "/zoomus//held==",
            "attendees": [{"name": "Ada", "sessions": [[0, 5], [10, 30]]}],
        },
    )
    instances = client.past_meeting.list(meeting_id=str(held["id"]))
    assert instances.status_code == 200, instances.text
    assert [i["uuid"] for i in instances.json()["meetings"]] == [held["uuid"]]
    details = client.past_meeting.get(meeting_id=held["uuid"])  # zoomus double-encodes it
    assert details.status_code == 200, details.text
    assert details.json()["total_minutes"] == 25
    participants = client.past_meeting.get_participants(meeting_id=held["uuid"])
    assert participants.status_code == 200, participants.text
    assert [(p["name"], p["duration"]) for p in participants.json()["participants"]] == [
        ("Ada", 300),
        ("Ada", 1200),
    ]


def test_zoomus_webinar_update_registrants_and_absentees(zoom_emulator: ZoomEmulator) -> None:
    client = zoomus_client(zoom_emulator)
    created = client.webinar.create(
        user_id="me",
        topic="Weekly",
        type=9,
        start_time="2031-06-03T15:00:00Z",
        recurrence={"type": 2, "weekly_days": "3", "end_times": 2},
        settings={"approval_type": 0},
    )
    assert created.status_code == 201, created.text
    webinar = created.json()
    assert len(webinar["occurrences"]) == 2
    assert client.webinar.update(id=webinar["id"], topic="Weekly (new)").status_code == 204
    assert client.webinar.get(id=webinar["id"]).json()["topic"] == "Weekly (new)"
    for name in ("ada", "alan"):
        registered = client.webinar.register(
            id=webinar["id"], email=f"{name}@example.com", first_name=name, last_name="X"
        )
        assert registered.status_code == 201, registered.text
    listed = client.webinar.get_registrants(id=webinar["id"]).json()["registrants"]
    assert [r["email"] for r in listed] == ["ada@example.com", "alan@example.com"]
    attendees = [{"name": "Ada", "email": "ada@example.com"}]
    zoom_emulator.control("POST", f"webinars/{webinar['id']}/held", json={"attendees": attendees})
    absent = client.webinar.get_absentees(id=webinar["id"]).json()["registrants"]
    assert [r["email"] for r in absent] == ["alan@example.com"]
