"""The emulator's meeting registrant endpoints over real HTTP, checked against Zoom's OpenAPI spec.

Every 200 answer is validated with ``assert_matches_spec``; 204 answers must be empty (the same
helper checks that the spec gives them no body).
"""

from __future__ import annotations

from typing import Any

import httpx
from helpers.zoom_spec import assert_matches_spec

from emulator.conftest import (
    assert_zoom_error,
    create,
    daily_registration_meeting,
    error_fields,
    scoped_client,
)
from zoom_emulator import ZoomEmulator

REGISTRANTS = "/meetings/{meetingId}/registrants"
STATUS = "/meetings/{meetingId}/registrants/status"
ONE = "/meetings/{meetingId}/registrants/{registrantId}"
QUESTIONS = "/meetings/{meetingId}/registrants/questions"


def register(client: httpx.Client, meeting_id: int, email: str) -> dict[str, Any]:
    response = client.post(
        f"/meetings/{meeting_id}/registrants",
        json={"email": email, "first_name": email.split("@")[0], "city": "Oslo"},
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def listed(client: httpx.Client, meeting_id: int, **params: Any) -> dict[str, Any]:
    response = client.get(f"/meetings/{meeting_id}/registrants", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = assert_matches_spec(response, "GET", REGISTRANTS)
    return page


def emails(page: dict[str, Any]) -> list[str]:
    return [r["email"] for r in page["registrants"]]


def manual_meeting(client: httpx.Client) -> int:
    meeting_id: int = create(client, {"topic": "manual", "settings": {"approval_type": 1}})["id"]
    return meeting_id


def test_list_by_status_and_page(client: httpx.Client) -> None:
    meeting_id = manual_meeting(client)
    added = [register(client, meeting_id, f"p{n}@example.com") for n in range(5)]
    assert listed(client, meeting_id)["registrants"] == []  # status defaults to approved
    first = listed(client, meeting_id, status="pending", page_size=2)
    assert first["total_records"] == 5 and len(first["registrants"]) == 2
    seen, page = emails(first), first
    while page["next_page_token"]:
        page = listed(
            client,
            meeting_id,
            status="pending",
            page_size=2,
            next_page_token=page["next_page_token"],
        )
        seen += emails(page)
    assert seen == [f"p{n}@example.com" for n in range(5)]
    item = first["registrants"][0]
    assert item["id"] == added[0]["registrant_id"] and item["status"] == "pending"
    assert item["city"] == "Oslo" and item["join_url"] == added[0]["join_url"]


def test_status_changes_in_batches_of_30(client: httpx.Client) -> None:
    meeting_id = manual_meeting(client)
    ann, bob, cat = (
        register(client, meeting_id, f"{n}@example.com") for n in ("ann", "bob", "cat")
    )
    path = f"/meetings/{meeting_id}/registrants/status"
    body = {
        "action": "approve",
        "registrants": [{"id": ann["registrant_id"]}, {"email": "BOB@example.com"}],
    }
    response = client.put(path, json=body)
    assert response.status_code == 204
    assert_matches_spec(response, "PUT", STATUS)
    assert client.put(path, json=body).status_code == 204  # the same again changes nothing
    assert emails(listed(client, meeting_id)) == ["ann@example.com", "bob@example.com"]
    assert (
        client.put(
            path, json={"action": "deny", "registrants": [{"id": cat["registrant_id"]}]}
        ).status_code
        == 204
    )
    assert (
        client.put(
            path, json={"action": "cancel", "registrants": [{"id": bob["registrant_id"]}]}
        ).status_code
        == 204
    )
    assert emails(listed(client, meeting_id, status="denied")) == [
        "bob@example.com",
        "cat@example.com",
    ]
    assert listed(client, meeting_id, status="pending")["registrants"] == []

    too_many = {
        "action": "approve",
        "registrants": [{"email": f"x{n}@example.com"} for n in range(31)],
    }
    assert error_fields(client.put(path, json=too_many)) == {"registrants"}
    assert error_fields(client.put(path, json={"action": "approve", "registrants": []})) == {
        "registrants"
    }
    assert error_fields(
        client.put(path, json={"action": "maybe", "registrants": [{"id": "x"}]})
    ) == {"action"}
    unknown = {"action": "deny", "registrants": [{"id": ann["registrant_id"]}, {"id": "nobody"}]}
    assert error_fields(client.put(path, json=unknown)) == {"registrants.1"}
    assert emails(listed(client, meeting_id)) == ["ann@example.com"]  # all or nothing


def test_delete_a_registrant(client: httpx.Client) -> None:
    meeting_id = create(client, {"topic": "open", "settings": {"approval_type": 0}})["id"]
    ann = register(client, meeting_id, "ann@example.com")
    register(client, meeting_id, "bob@example.com")
    response = client.delete(f"/meetings/{meeting_id}/registrants/{ann['registrant_id']}")
    assert response.status_code == 204
    assert_matches_spec(response, "DELETE", ONE)
    assert emails(listed(client, meeting_id)) == ["bob@example.com"]
    again = client.delete(f"/meetings/{meeting_id}/registrants/{ann['registrant_id']}")
    assert error_fields(again) == {"registrantId"}
    # registering again after a delete is a new registration
    assert register(client, meeting_id, "ann@example.com")["registrant_id"] != ann["registrant_id"]


def test_delete_from_one_occurrence(client: httpx.Client) -> None:
    meeting = daily_registration_meeting(client, 2, approval_type=0)
    first, second = (o["occurrence_id"] for o in meeting["occurrences"])
    ann = register(client, meeting["id"], "ann@example.com")
    path = f"/meetings/{meeting['id']}/registrants/{ann['registrant_id']}"
    assert client.delete(path, params={"occurrence_id": first}).status_code == 204
    assert listed(client, meeting["id"], occurrence_id=first)["registrants"] == []
    assert emails(listed(client, meeting["id"], occurrence_id=second)) == ["ann@example.com"]
    assert client.delete(path, params={"occurrence_id": second}).status_code == 204
    assert listed(client, meeting["id"])["registrants"] == []


def test_registration_questions(client: httpx.Client) -> None:
    meeting_id = manual_meeting(client)
    path = f"/meetings/{meeting_id}/registrants/questions"
    empty = assert_matches_spec(client.get(path), "GET", QUESTIONS)
    assert empty == {"questions": [], "custom_questions": []}
    form = {
        "questions": [{"field_name": "city", "required": True}],
        "custom_questions": [
            {"title": "Diet?", "type": "single", "required": False, "answers": ["veg", "any"]}
        ],
    }
    response = client.patch(path, json=form)
    assert response.status_code == 204
    assert_matches_spec(response, "PATCH", QUESTIONS)
    assert assert_matches_spec(client.get(path), "GET", QUESTIONS) == form
    assert client.patch(path, json={"questions": []}).status_code == 204  # custom ones stay
    assert client.get(path).json() == {
        "questions": [],
        "custom_questions": form["custom_questions"],
    }
    assert error_fields(client.patch(path, json={"questions": [{"field_name": "shoe_size"}]})) == {
        "questions.0.field_name"
    }


def test_every_registrant_call_needs_registration_on(client: httpx.Client) -> None:
    meeting_id = create(client, {"topic": "closed"})["id"]
    message = f"Registration has not been enabled for this meeting: {meeting_id}."
    base = f"/meetings/{meeting_id}/registrants"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("PUT", f"{base}/status", {"action": "approve", "registrants": [{"id": "x"}]}),
        ("DELETE", f"{base}/someone", None),
        ("GET", f"{base}/questions", None),
        ("PATCH", f"{base}/questions", {"questions": []}),
    ]
    for method, path, body in calls:
        assert_zoom_error(client.request(method, path, json=body), 404, 404, message)


def test_unknown_meeting_and_missing_scope(
    zoom_emulator: ZoomEmulator, client: httpx.Client
) -> None:
    assert_zoom_error(client.get("/meetings/81000000999/registrants"), 404, 3001)
    meeting_id = manual_meeting(client)
    with scoped_client(zoom_emulator, ["meeting:write"]) as http:
        refused = http.get(f"/meetings/{meeting_id}/registrants")
        body = assert_zoom_error(refused, 400, 4711)
        assert "meeting:read:list_registrants" in body["message"]
        put = http.put(
            f"/meetings/{meeting_id}/registrants/status",
            json={"action": "approve", "registrants": [{"email": "a@example.com"}]},
        )
        assert_zoom_error(put, 400, 300)  # the scope is enough: the registrant is unknown
