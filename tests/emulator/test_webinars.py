"""The emulator's webinar endpoints over real HTTP, checked against Zoom's OpenAPI spec."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from helpers.zoom_spec import assert_matches_spec

from emulator.conftest import assert_zoom_error, error_fields, scoped_client
from zoom_emulator import ZoomEmulator

WEBINARS = "/users/{userId}/webinars"
WEBINAR = "/webinars/{webinarId}"
REGISTRANTS = "/webinars/{webinarId}/registrants"
PARTICIPANTS = "/past_webinars/{webinarId}/participants"
ABSENTEES = "/past_webinars/{webinarId}/absentees"
WEEKLY = {"type": 2, "weekly_days": "3", "end_times": 3}  # three Tuesdays


def schedule(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/users/me/webinars", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = assert_matches_spec(response, "POST", WEBINARS)
    return created


def test_schedule_get_list_delete(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    body = {
        "topic": "Launch",
        "type": 5,
        "start_time": "2031-05-01T16:00:00Z",
        "duration": 45,
        "password": "pw1",
        "settings": {"approval_type": 0, "panelists_video": True},
    }
    created = schedule(client, body)
    owner = zoom_emulator.state.owner()
    assert (created["topic"], created["type"], created["duration"]) == ("Launch", 5, 45)
    assert created["start_time"] == "2031-05-01T16:00:00Z" and created["password"] == "pw1"
    assert created["host_id"] == owner.id and str(created["id"]) in created["join_url"]
    assert created["settings"]["approval_type"] == 0 and created["settings"]["panelists_video"]
    fetched = client.get(f"/webinars/{created['id']}")
    assert assert_matches_spec(fetched, "GET", WEBINAR) == created
    past = schedule(client, {"topic": "Past", "start_time": "2020-01-01T10:00:00Z"})
    listed = assert_matches_spec(client.get("/users/me/webinars"), "GET", WEBINARS)
    assert [w["id"] for w in listed["webinars"]] == [past["id"], created["id"]]
    upcoming = client.get("/users/me/webinars", params={"type": "upcoming"}).json()
    assert [w["id"] for w in upcoming["webinars"]] == [created["id"]]
    deleted = client.delete(f"/webinars/{created['id']}")
    assert deleted.status_code == 204
    assert_matches_spec(deleted, "DELETE", WEBINAR)
    assert_zoom_error(
        client.get(f"/webinars/{created['id']}"),
        404,
        3001,
        f"Webinar does not exist: {created['id']}.",
    )


def test_webinar_ids_are_not_meeting_ids(client: httpx.Client) -> None:
    meeting = client.post("/users/me/meetings", json={"topic": "m"}).json()
    assert_zoom_error(client.get(f"/webinars/{meeting['id']}"), 404, 3001)
    webinar = schedule(client, {"topic": "w"})
    assert_zoom_error(client.get(f"/meetings/{webinar['id']}"), 404, 3001)


def test_bad_bodies_and_a_basic_host(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    assert error_fields(client.post("/users/me/webinars", json={"type": 7})) == {"type"}
    assert error_fields(client.post("/users/me/webinars", json={"type": 9})) == {"recurrence"}
    assert error_fields(client.post("/users/me/webinars", json={"topic": "x" * 201})) == {"topic"}
    assert error_fields(client.post("/users/me/webinars", json={"password": "x" * 11})) == {
        "password"
    }
    basic = zoom_emulator.state.add_user("basic@example.com", "Bas", "Ic")
    basic.type = 1
    refused = client.post(f"/users/{basic.id}/webinars", json={"topic": "no plan"})
    body = assert_zoom_error(refused, 400, 200)
    assert body["message"].startswith("Subscription plan for webinar is missing.")
    assert basic.id in body["message"]


def test_missing_scope_is_400_4711(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    webinar = schedule(client, {"topic": "scoped"})
    with scoped_client(zoom_emulator, ["webinar:read"]) as http:
        assert_matches_spec(http.get(f"/webinars/{webinar['id']}"), "GET", WEBINAR)
        refused = http.delete(f"/webinars/{webinar['id']}")
        body = assert_zoom_error(refused, 400, 4711)
        assert "webinar:delete:webinar" in body["message"]
    assert webinar["id"] in zoom_emulator.state.webinars


def test_recurring_webinars(client: httpx.Client) -> None:
    fixed = schedule(
        client,
        {
            "topic": "Office hours",
            "type": 9,
            "start_time": "2031-06-03T15:00:00Z",
            "duration": 30,
            "recurrence": WEEKLY,
        },
    )
    assert fixed["type"] == 9 and fixed["recurrence"]["end_times"] == 3
    starts = [o["start_time"] for o in fixed["occurrences"]]
    assert starts == ["2031-06-03T15:00:00Z", "2031-06-10T15:00:00Z", "2031-06-17T15:00:00Z"]
    assert assert_matches_spec(client.get(f"/webinars/{fixed['id']}"), "GET", WEBINAR) == fixed
    floating = schedule(client, {"topic": "Any time", "type": 6, "settings": {"approval_type": 0}})
    assert floating["type"] == 6 and "start_time" not in floating and "occurrences" not in floating
    assert floating["settings"]["approval_type"] == 2  # no registration without a fixed time
    upcoming = client.get("/users/me/webinars", params={"type": "upcoming"})
    listed = assert_matches_spec(upcoming, "GET", WEBINARS)["webinars"]
    assert {w["id"] for w in listed} == {fixed["id"], floating["id"]}


def test_update_the_series_or_one_occurrence(client: httpx.Client) -> None:
    webinar = schedule(
        client, {"type": 9, "start_time": "2031-06-03T15:00:00Z", "recurrence": WEEKLY}
    )
    path = f"/webinars/{webinar['id']}"
    changed = client.patch(path, json={"topic": "Renamed", "password": "new1", "duration": 90})
    assert changed.status_code == 204
    assert_matches_spec(changed, "PATCH", WEBINAR)
    second = webinar["occurrences"][1]["occurrence_id"]
    moved = client.patch(
        path, params={"occurrence_id": second}, json={"start_time": "2031-06-11T16:00:00Z"}
    )
    assert moved.status_code == 204
    now = assert_matches_spec(client.get(path), "GET", WEBINAR)
    assert (now["topic"], now["password"], now["duration"]) == ("Renamed", "new1", 90)
    assert now["join_url"] != webinar["join_url"]  # a new passcode, a new link
    starts = [o["start_time"] for o in now["occurrences"]]
    assert starts == ["2031-06-03T15:00:00Z", "2031-06-11T16:00:00Z", "2031-06-17T15:00:00Z"]
    unknown = client.patch(path, params={"occurrence_id": "1"}, json={"duration": 5})
    assert_zoom_error(unknown, 400, 3000, "Invalid occurrence_id.")
    assert error_fields(client.patch(path, json={"password": "x" * 11})) == {"password"}
    assert_zoom_error(client.patch("/webinars/81000000999", json={"topic": "t"}), 404, 3001)


def test_registrants_added_listed_approved_deleted(client: httpx.Client) -> None:
    webinar = schedule(client, {"topic": "Launch", "settings": {"approval_type": 1}})
    path = f"/webinars/{webinar['id']}/registrants"
    people = [{"email": f"p{n}@example.com", "first_name": f"P{n}"} for n in range(3)]
    added = [client.post(path, json=person) for person in people]
    answers = [assert_matches_spec(a, "POST", REGISTRANTS) for a in added]
    assert all(a.status_code == 201 for a in added)
    again = client.post(path, json=people[0]).json()
    assert again["registrant_id"] == answers[0]["registrant_id"]  # one registration per email
    pending = client.get(path, params={"status": "pending", "page_size": 2})
    first = assert_matches_spec(pending, "GET", REGISTRANTS)
    assert len(first["registrants"]) == 2 and first["next_page_token"]
    status = client.put(
        f"{path}/status",
        json={"action": "approve", "registrants": [{"email": "p0@example.com"}]},
    )
    assert status.status_code == 204
    assert_matches_spec(status, "PUT", REGISTRANTS + "/status")
    approved = client.get(path).json()["registrants"]
    assert [r["email"] for r in approved] == ["p0@example.com"]
    deleted = client.delete(f"{path}/{answers[1]['registrant_id']}")
    assert deleted.status_code == 204
    assert_matches_spec(deleted, "DELETE", REGISTRANTS + "/{registrantId}")
    left = client.get(path, params={"status": "pending"}).json()["registrants"]
    assert [r["email"] for r in left] == ["p2@example.com"]
    assert error_fields(client.delete(f"{path}/nobody")) == {"registrantId"}


def test_registration_off_is_400_3000(client: httpx.Client) -> None:
    webinar = schedule(client, {"topic": "Open"})
    refused = client.post(
        f"/webinars/{webinar['id']}/registrants",
        json={"email": "a@example.com", "first_name": "A"},
    )
    message = f"This webinar does not have registration as required: {webinar['id']}."
    assert_zoom_error(refused, 400, 3000, message)
    assert_zoom_error(client.get(f"/webinars/{webinar['id']}/registrants"), 400, 3000, message)


def held_webinar(zoom_emulator: ZoomEmulator, client: httpx.Client) -> dict[str, Any]:
    """A webinar with three approved registrants, held with two of them and a guest."""
    webinar = schedule(
        client,
        {"topic": "Held", "start_time": "2024-05-01T15:00:00Z", "settings": {"approval_type": 0}},
    )
    for name in ("ada", "alan", "grace"):
        body = {"email": f"{name}@example.com", "first_name": name.title()}
        assert client.post(f"/webinars/{webinar['id']}/registrants", json=body).status_code == 201
    attendees = [
        {"name": "Ada", "email": "ada@example.com", "minutes": 45},
        {"name": "Alan", "email": "alan@example.com", "joined_after_minutes": 5, "minutes": 20},
        {"name": "Guest", "email": "guest@example.net", "minutes": 10},
    ]
    held: dict[str, Any] = zoom_emulator.control(
        "POST", f"webinars/{webinar['id']}/held", json={"attendees": attendees}
    )
    return webinar | {"held_uuid": held["uuid"]}


def test_participants_and_absentees_of_a_held_webinar(
    zoom_emulator: ZoomEmulator, client: httpx.Client
) -> None:
    webinar = held_webinar(zoom_emulator, client)
    first = client.get(f"/past_webinars/{webinar['id']}/participants", params={"page_size": 2})
    page = assert_matches_spec(first, "GET", PARTICIPANTS)
    rest = client.get(
        f"/past_webinars/{webinar['id']}/participants",
        params={"page_size": 2, "next_page_token": page["next_page_token"]},
    ).json()
    people = page["participants"] + rest["participants"]
    assert [p["user_email"] for p in people] == [
        "ada@example.com",
        "alan@example.com",
        "guest@example.net",
    ]
    alan = people[1]
    assert (alan["join_time"], alan["leave_time"]) == (
        "2024-05-01T15:05:00Z",
        "2024-05-01T15:25:00Z",
    )
    assert alan["duration"] == 1200 and alan["registrant_id"]
    assert "registrant_id" not in people[2]
    uuid = quote(quote(webinar["held_uuid"], safe=""), safe="")  # encoded twice is always safe
    absent = client.get(f"/past_webinars/{uuid}/absentees")
    registrants = assert_matches_spec(absent, "GET", ABSENTEES)["registrants"]
    assert [r["email"] for r in registrants] == ["grace@example.com"]


def test_past_webinar_errors_and_scopes(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    never_held = schedule(client, {"topic": "Later"})
    missing = client.get(f"/past_webinars/{never_held['id']}/participants")
    assert_zoom_error(missing, 404, 3001, "Webinar does not exist.")
    zoom_emulator.control("POST", f"webinars/{never_held['id']}/held", json={})
    no_registration = client.get(f"/past_webinars/{never_held['id']}/absentees")
    assert_zoom_error(no_registration, 400, 3000)
    webinar = held_webinar(zoom_emulator, client)
    with scoped_client(zoom_emulator, ["webinar:read:list_past_participants"]) as http:
        listed = http.get(f"/past_webinars/{webinar['id']}/participants")
        assert len(assert_matches_spec(listed, "GET", PARTICIPANTS)["participants"]) == 3
        refused = http.get(f"/past_webinars/{webinar['id']}/absentees")
        assert "webinar:read:list_absentees" in assert_zoom_error(refused, 400, 4711)["message"]
