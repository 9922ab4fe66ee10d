"""The emulator's webinar endpoints over real HTTP, checked against Zoom's OpenAPI spec."""

from __future__ import annotations

from typing import Any

import httpx
from helpers.zoom_spec import assert_matches_spec

from emulator.conftest import assert_zoom_error, error_fields, scoped_client
from zoom_emulator import ZoomEmulator

WEBINARS = "/users/{userId}/webinars"
WEBINAR = "/webinars/{webinarId}"


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
    assert error_fields(client.post("/users/me/webinars", json={"type": 9})) == {"type"}
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
