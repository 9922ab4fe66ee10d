"""The emulator's users and meetings endpoints over real HTTP, checked against Zoom's OpenAPI spec.

Every 200/201 answer is validated with ``assert_matches_spec``; 204 answers must be empty. The spec
gives no JSON schema for any error status of these operations, so errors are checked for Zoom's
``{"code", "message"[, "errors"]}`` shape by :func:`assert_zoom_error`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest
from helpers.zoom_spec import assert_matches_spec, response_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.conftest import (
    assert_zoom_error,
    create,
    daily_registration_meeting,
    error_fields,
    mint_token,
)
from zoom_emulator import EmulatorConfig, ZoomEmulator
from zoom_emulator.models.state import User

MEETINGS = "/users/{userId}/meetings"
MEETING = "/meetings/{meetingId}"


@pytest.fixture
def emulator_config(request: pytest.FixtureRequest) -> EmulatorConfig:
    """Three users by default; parametrize indirectly for another config."""
    config: EmulatorConfig = getattr(request, "param", EmulatorConfig(seed_users=3))
    return config


def user_client(zoom: ZoomEmulator, scopes: list[str], email: str) -> httpx.Client:
    """A client with a user-level OAuth token of ``email`` holding only ``scopes``."""
    token = mint_token(zoom, scopes, kind="oauth", user_email=email)
    return httpx.Client(base_url=zoom.api_url, headers={"Authorization": f"Bearer {token}"})


def member(zoom: ZoomEmulator, number: int = 1) -> User:
    return next(u for u in zoom.state.users.values() if u.email == f"user{number}@example.com")


def get_meeting(client: httpx.Client, meeting_id: int) -> dict[str, Any]:
    response = client.get(f"/meetings/{meeting_id}")
    assert response.status_code == 200, response.text
    meeting: dict[str, Any] = assert_matches_spec(response, "GET", MEETING)
    return meeting


def iso(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# ---- users -------------------------------------------------------------------------------------


def test_error_statuses_have_no_schema_in_the_spec() -> None:
    """Why errors are checked by shape: the spec documents them in prose only."""
    for path, method, status in [
        ("/users/{userId}", "GET", 404),
        (MEETINGS, "POST", 404),
        (MEETING, "GET", 404),
        (MEETING, "PATCH", 400),
        ("/meetings/{meetingId}/registrants", "POST", 400),
    ]:
        assert response_schema(method, path, status) is None


def test_get_user_by_me_id_and_email(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    me = client.get("/users/me")
    owner = assert_matches_spec(me, "GET", "/users/{userId}")
    assert owner["email"] == zoom_emulator.config.user_email
    assert owner["role_name"] == "Owner"
    by_id = assert_matches_spec(client.get(f"/users/{owner['id']}"), "GET", "/users/{userId}")
    assert by_id == owner
    other = member(zoom_emulator)
    by_email = client.get(f"/users/{other.email.upper()}")
    assert assert_matches_spec(by_email, "GET", "/users/{userId}")["id"] == other.id


def test_unknown_user_is_404_1001(client: httpx.Client) -> None:
    response = client.get("/users/nobody@example.com")
    assert_zoom_error(response, 404, 1001, "User does not exist: nobody@example.com.")


def test_user_of_another_account_is_400_1010(
    zoom_emulator: ZoomEmulator, client: httpx.Client
) -> None:
    stranger = zoom_emulator.state.add_user(
        "stranger@example.org", "Sam", "Stranger", account_id="otherAccount"
    )
    for user_id in (stranger.id, stranger.email):
        assert_zoom_error(client.get(f"/users/{user_id}"), 400, 1010)
    assert_zoom_error(client.get(f"/users/{stranger.id}/meetings"), 404, 1001)


def test_user_level_token_addresses_only_itself(zoom_emulator: ZoomEmulator) -> None:
    me = member(zoom_emulator)
    owner = zoom_emulator.state.owner()
    with user_client(zoom_emulator, ["user:read"], me.email) as http:
        for user_id in ("me", me.id, me.email):
            answer = assert_matches_spec(http.get(f"/users/{user_id}"), "GET", "/users/{userId}")
            assert answer["id"] == me.id
        assert_zoom_error(http.get(f"/users/{owner.id}"), 400, 200, "No permission.")
    with user_client(zoom_emulator, ["user:read:admin"], me.email) as http:
        answer = assert_matches_spec(http.get(f"/users/{owner.id}"), "GET", "/users/{userId}")
        assert answer["id"] == owner.id


def test_user_info_read_only_works_for_me(zoom_emulator: ZoomEmulator) -> None:
    owner = zoom_emulator.state.owner()
    with user_client(zoom_emulator, ["user_info:read"], owner.email) as http:
        assert_matches_spec(http.get("/users/me"), "GET", "/users/{userId}")
        message = (
            "Invalid access token, does not contain scopes:[user:read:user, user:read:user:admin]."
        )
        assert_zoom_error(http.get(f"/users/{owner.id}"), 400, 4711, message)


def test_list_users_pages_through_every_user(client: httpx.Client) -> None:
    seen: list[str] = []
    tokens: list[str] = []
    token = ""
    for _ in range(5):
        params: dict[str, Any] = {"page_size": 1}
        if token:
            params["next_page_token"] = token
        page = assert_matches_spec(client.get("/users", params=params), "GET", "/users")
        assert page["page_size"] == 1 and page["total_records"] == 3
        assert page["page_count"] == 3 and page["page_number"] == len(seen) + 1
        seen += [user["id"] for user in page["users"]]
        token = page["next_page_token"]
        if not token:
            break
        tokens.append(token)
    assert len(seen) == len(set(seen)) == 3
    assert len(tokens) == len(set(tokens)) == 2
    everyone = assert_matches_spec(client.get("/users"), "GET", "/users")
    assert [u["id"] for u in everyone["users"]] == seen
    assert everyone["next_page_token"] == "" and everyone["page_size"] == 30


def test_list_users_filters_by_status(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    member(zoom_emulator, 2).status = "inactive"
    active = assert_matches_spec(client.get("/users"), "GET", "/users")
    inactive = client.get("/users", params={"status": "inactive"})
    inactive_users = assert_matches_spec(inactive, "GET", "/users")["users"]
    assert active["total_records"] == 2
    assert [u["email"] for u in inactive_users] == ["user2@example.com"]
    assert "status" in error_fields(client.get("/users", params={"status": "gone"}))


def test_list_users_needs_an_admin_scope(zoom_emulator: ZoomEmulator) -> None:
    owner = zoom_emulator.state.owner()
    with user_client(zoom_emulator, ["user:read"], owner.email) as http:
        message = "Invalid access token, does not contain scopes:[user:read:list_users:admin]."
        assert_zoom_error(http.get("/users"), 400, 4711, message)


def test_expired_unknown_and_foreign_page_tokens(
    zoom_emulator: ZoomEmulator, client: httpx.Client
) -> None:
    invalid = "The next page token is invalid or expired."
    page = client.get("/users", params={"page_size": 1}).json()
    token = page["next_page_token"]
    foreign = client.get("/users/me/meetings", params={"next_page_token": token})
    assert_zoom_error(foreign, 400, 300, invalid)
    inactive = client.get("/users", params={"next_page_token": token, "status": "inactive"})
    assert_zoom_error(inactive, 400, 300, invalid)
    again = client.get("/users", params={"page_size": 1, "next_page_token": token})
    assert assert_matches_spec(again, "GET", "/users")["page_number"] == 2
    zoom_emulator.state.page_cursors[token].expires_at = time.time() - 1
    expired = client.get("/users", params={"page_size": 1, "next_page_token": token})
    assert_zoom_error(expired, 400, 300, invalid)
    unknown = client.get("/users", params={"next_page_token": "NoSuchTokenAtAll"})
    assert_zoom_error(unknown, 400, 300, invalid)


def test_page_token_lives_as_configured(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    before = time.time()
    token = client.get("/users", params={"page_size": 2}).json()["next_page_token"]
    cursor = zoom_emulator.state.page_cursors[token]
    assert cursor.expires_at - before == pytest.approx(900, abs=5)


@pytest.mark.parametrize("page_size", ["301", "0", "-1", "ten", "2.5"])
def test_bad_page_sizes_fail_validation(client: httpx.Client, page_size: str) -> None:
    assert error_fields(client.get("/users", params={"page_size": page_size})) == {"page_size"}
    response = client.get("/users/me/meetings", params={"page_size": page_size})
    assert error_fields(response) == {"page_size"}


def test_page_size_300_is_allowed(client: httpx.Client) -> None:
    page = assert_matches_spec(client.get("/users", params={"page_size": 300}), "GET", "/users")
    assert page["page_size"] == 300 and len(page["users"]) == 3


# ---- meetings: create, read, update, delete ----------------------------------------------------


def test_meeting_lifecycle(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    owner = zoom_emulator.state.owner()
    created = create(
        client,
        {
            "topic": "Planning",
            "type": 2,
            "start_time": "2031-05-04T09:30:00Z",
            "duration": 45,
            "password": "abc123",
            "agenda": "Roadmap",
            "settings": {"join_before_host": True, "auto_recording": "cloud"},
        },
    )
    assert isinstance(created["id"], int) and created["id"] > 10**9
    assert created["host_id"] == owner.id and created["host_email"] == owner.email
    assert created["status"] == "waiting" and created["pre_schedule"] is False
    assert created["start_time"] == "2031-05-04T09:30:00Z" and created["timezone"] == "UTC"
    assert created["password"] == "abc123" and created["encrypted_password"]
    assert created["join_url"].endswith(f"?pwd={created['encrypted_password']}")
    assert created["settings"]["join_before_host"] is True
    assert created["settings"]["auto_recording"] == "cloud"
    assert created["settings"]["waiting_room"] is False  # a default, merged in
    assert created["uuid"] and created["start_url"]
    assert zoom_emulator.state.meetings[created["id"]].topic == "Planning"

    fetched = get_meeting(client, created["id"])
    assert fetched == created

    patch = client.patch(
        f"/meetings/{created['id']}",
        json={"topic": "Planning v2", "duration": 90, "settings": {"waiting_room": True}},
    )
    assert patch.status_code == 204 and patch.content == b""
    assert_matches_spec(patch, "PATCH", MEETING)
    changed = get_meeting(client, created["id"])
    assert changed["topic"] == "Planning v2" and changed["duration"] == 90
    assert changed["settings"]["waiting_room"] is True
    assert changed["settings"]["join_before_host"] is True  # untouched settings stay
    assert changed["password"] == "abc123" and changed["start_time"] == created["start_time"]

    deleted = client.delete(f"/meetings/{created['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_matches_spec(deleted, "DELETE", MEETING)
    gone = f"Meeting does not exist: {created['id']}."
    assert_zoom_error(client.get(f"/meetings/{created['id']}"), 404, 3001, gone)
    assert_zoom_error(client.delete(f"/meetings/{created['id']}"), 404, 3001, gone)
    assert_zoom_error(client.patch(f"/meetings/{created['id']}", json={}), 404, 3001, gone)


def test_defaults_of_a_bare_create(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    created = create(client, {})
    assert created["type"] == 2 and created["duration"] == 60
    assert len(created["password"]) == 6 and created["h323_password"].isdigit()
    assert iso(created["start_time"]) <= datetime.now(UTC) + timedelta(seconds=1)
    assert created["topic"].endswith("Zoom Meeting")
    empty_body = client.post("/users/me/meetings")
    assert assert_matches_spec(empty_body, "POST", MEETINGS)["type"] == 2


def test_local_start_time_uses_the_timezone(client: httpx.Client) -> None:
    created = create(client, {"start_time": "2031-01-15T10:00:00", "timezone": "America/New_York"})
    assert created["start_time"] == "2031-01-15T15:00:00Z"
    assert created["timezone"] == "America/New_York"
    naive = create(client, {"start_time": "2031-01-15T10:00:00"})  # the host's timezone: UTC
    assert naive["start_time"] == "2031-01-15T10:00:00Z"


def test_create_for_another_host_by_email_or_id(
    zoom_emulator: ZoomEmulator, client: httpx.Client
) -> None:
    other = member(zoom_emulator)
    assert create(client, {"topic": "a"}, other.email)["host_id"] == other.id
    assert create(client, {"topic": "b"}, other.id)["host_email"] == other.email
    unknown = client.post("/users/ghost@example.com/meetings", json={})
    assert_zoom_error(unknown, 404, 1001)


def test_meeting_ids_that_are_not_numbers_are_not_found(client: httpx.Client) -> None:
    assert_zoom_error(client.get("/meetings/abc"), 404, 3001, "Meeting does not exist: abc.")
    assert_zoom_error(client.get("/meetings/%C2%B2"), 404, 3001)  # "²" is a digit to Python
    assert_zoom_error(client.get("/meetings/999"), 404, 3001)


def test_list_meetings_by_type_with_pages(client: httpx.Client) -> None:
    future = [
        create(client, {"topic": f"f{n}", "start_time": f"2032-01-0{n}T10:00:00Z"}) for n in (1, 2)
    ]
    past = create(client, {"topic": "past", "start_time": "2020-01-01T10:00:00Z"})
    floating = create(client, {"topic": "no fixed time", "type": 3})
    assert "start_time" not in floating

    ids: list[int] = []
    params: dict[str, Any] = {"page_size": 2}
    while True:
        page = assert_matches_spec(client.get("/users/me/meetings", params=params), "GET", MEETINGS)
        assert page["total_records"] == 4 and len(page["meetings"]) <= 2
        ids += [m["id"] for m in page["meetings"]]
        if not page["next_page_token"]:
            break
        params["next_page_token"] = page["next_page_token"]
    assert sorted(ids) == sorted(m["id"] for m in [*future, past, floating])

    def listed(kind: str) -> set[int]:
        answer = client.get("/users/me/meetings", params={"type": kind})
        return {m["id"] for m in assert_matches_spec(answer, "GET", MEETINGS)["meetings"]}

    upcoming = {future[0]["id"], future[1]["id"], floating["id"]}
    assert listed("upcoming") == listed("upcoming_meetings") == upcoming
    assert listed("previous_meetings") == {past["id"]}
    assert listed("live") == set()
    assert error_fields(client.get("/users/me/meetings", params={"type": "someday"})) == {"type"}


def test_list_meetings_of_another_user(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    other = member(zoom_emulator)
    mine = create(client, {"topic": "owner's"})
    theirs = create(client, {"topic": "member's"}, other.id)
    answer = client.get(f"/users/{other.email}/meetings")
    meetings = assert_matches_spec(answer, "GET", MEETINGS)["meetings"]
    assert [m["id"] for m in meetings] == [theirs["id"]]
    assert mine["id"] not in [m["id"] for m in meetings]


def test_listed_agendas_are_cut_to_250_characters(client: httpx.Client) -> None:
    """The spec: the list cuts the agenda to 250 characters; the meeting itself has all of it."""
    agenda = "".join(f"{n:04d} " for n in range(400))  # 2000 characters
    created = create(client, {"topic": "long", "agenda": agenda})
    listed = assert_matches_spec(client.get("/users/me/meetings"), "GET", MEETINGS)["meetings"]
    assert [m["agenda"] for m in listed] == [agenda[:250]]
    assert client.get(f"/meetings/{created['id']}").json()["agenda"] == agenda


# ---- recurrence --------------------------------------------------------------------------------


def test_daily_recurrence(client: httpx.Client) -> None:
    created = create(
        client,
        {
            "type": 8,
            "start_time": "2031-03-01T08:00:00Z",
            "duration": 30,
            "recurrence": {"type": 1, "repeat_interval": 2, "end_times": 4},
        },
    )
    starts = [iso(o["start_time"]) for o in created["occurrences"]]
    assert len(starts) == 4
    assert all(b - a == timedelta(days=2) for a, b in pairwise(starts))
    assert all(o["duration"] == 30 and o["status"] == "available" for o in created["occurrences"])
    first = created["occurrences"][0]
    assert first["occurrence_id"] == str(int(starts[0].timestamp() * 1000))
    assert created["recurrence"]["end_times"] == 4
    assert get_meeting(client, created["id"])["occurrences"] == created["occurrences"]


def test_weekly_recurrence_keeps_local_time(client: httpx.Client) -> None:
    created = create(
        client,
        {
            "type": 8,
            "start_time": "2031-01-01T10:00:00",  # a Wednesday, New York time
            "timezone": "America/New_York",
            "recurrence": {"type": 2, "weekly_days": "2", "end_date_time": "2031-04-01T00:00:00Z"},
        },
    )
    starts = [iso(o["start_time"]) for o in created["occurrences"]]
    assert starts[0] == datetime(2031, 1, 6, 15, tzinfo=UTC)  # first Monday, 10:00 EST
    assert all(s.astimezone(UTC).weekday() == 0 for s in starts)
    assert starts[-1] <= datetime(2031, 4, 1, tzinfo=UTC)
    assert {s.hour for s in starts} == {14, 15}  # 10:00 local across the DST change
    assert created["start_time"] == created["occurrences"][0]["start_time"]


def test_monthly_recurrence_and_the_occurrence_cap(client: httpx.Client) -> None:
    monthly = create(
        client,
        {
            "type": 8,
            "start_time": "2031-01-31T12:00:00Z",
            "recurrence": {"type": 3, "monthly_day": 31, "end_times": 3},
        },
    )
    days = [o["start_time"][:10] for o in monthly["occurrences"]]
    assert days == ["2031-01-31", "2031-02-28", "2031-03-31"]
    nth = create(
        client,
        {
            "type": 8,
            "start_time": "2031-01-01T12:00:00Z",
            "recurrence": {"type": 3, "monthly_week": -1, "monthly_week_day": 6, "end_times": 2},
        },
    )
    assert [o["start_time"][:10] for o in nth["occurrences"]] == ["2031-01-31", "2031-02-28"]
    long = create(
        client,
        {
            "type": 8,
            "start_time": "2031-01-01T12:00:00Z",
            "recurrence": {"type": 1, "end_date_time": "2033-01-01T00:00:00Z"},
        },
    )
    assert len(long["occurrences"]) == 60


def test_delete_and_get_one_occurrence(client: httpx.Client) -> None:
    created = create(
        client,
        {
            "type": 8,
            "start_time": "2031-03-01T08:00:00Z",
            "recurrence": {"type": 1, "end_times": 3},
        },
    )
    second = created["occurrences"][1]["occurrence_id"]
    one = client.get(f"/meetings/{created['id']}", params={"occurrence_id": second})
    assert assert_matches_spec(one, "GET", MEETING)["start_time"] == "2031-03-02T08:00:00Z"
    moved = client.patch(
        f"/meetings/{created['id']}",
        params={"occurrence_id": second},
        json={"start_time": "2031-03-02T09:00:00Z"},
    )
    assert moved.status_code == 204
    occurrences = get_meeting(client, created["id"])["occurrences"]
    assert occurrences[1]["start_time"] == "2031-03-02T09:00:00Z"
    assert occurrences[2]["start_time"] == "2031-03-03T08:00:00Z"
    assert (
        client.delete(f"/meetings/{created['id']}", params={"occurrence_id": second}).status_code
        == 204
    )
    statuses = [o["status"] for o in get_meeting(client, created["id"])["occurrences"]]
    assert statuses == ["available", "deleted", "available"]
    again = client.delete(f"/meetings/{created['id']}", params={"occurrence_id": second})
    assert_zoom_error(again, 400, 3000, "Invalid occurrence_id.")


def test_patch_to_recurring_needs_recurrence(client: httpx.Client) -> None:
    created = create(client, {"start_time": "2031-03-01T08:00:00Z"})
    assert error_fields(client.patch(f"/meetings/{created['id']}", json={"type": 8})) == {
        "recurrence"
    }
    body = {"type": 8, "recurrence": {"type": 1, "end_times": 2}}
    assert client.patch(f"/meetings/{created['id']}", json=body).status_code == 204
    changed = get_meeting(client, created["id"])
    assert changed["type"] == 8 and len(changed["occurrences"]) == 2
    assert changed["occurrences"][0]["start_time"] == "2031-03-01T08:00:00Z"


# ---- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"password": "12345678901"}, {"password"}),
        ({"password": "with space"}, {"password"}),
        ({"agenda": "x" * 2001}, {"agenda"}),
        ({"topic": "x" * 201}, {"topic"}),
        ({"type": 5}, {"type"}),
        ({"type": "2"}, {"type"}),
        ({"duration": "60"}, {"duration"}),
        ({"duration": 1.5}, {"duration"}),
        ({"topic": 7}, {"topic"}),
        ({"settings": {"waiting_room": "yes"}}, {"settings.waiting_room"}),
        ({"settings": {"approval_type": 9}}, {"settings.approval_type"}),
        ({"settings": "none"}, {"settings"}),
        ({"start_time": "tomorrow at ten"}, {"start_time"}),
        ({"start_time": "2031-13-01T10:00:00Z"}, {"start_time"}),
        ({"start_time": "2031-02-30T10:00:00Z"}, {"start_time"}),
        ({"timezone": "Mars/Olympus_Mons"}, {"timezone"}),
        ({"type": 8, "start_time": "2031-01-01T10:00:00Z"}, {"recurrence"}),
        ({"type": 8, "recurrence": {"type": 4}}, {"recurrence.type"}),
        ({"type": 8, "recurrence": {}}, {"recurrence.type"}),
        ({"type": 8, "recurrence": {"type": 1, "end_times": 61}}, {"recurrence.end_times"}),
        ({"type": 8, "recurrence": {"type": 1, "end_times": 0}}, {"recurrence.end_times"}),
        (
            {
                "type": 8,
                "recurrence": {"type": 1, "end_times": 2, "end_date_time": "2031-01-01T00:00:00Z"},
            },
            {"recurrence.end_date_time"},
        ),
        ({"type": 8, "recurrence": {"type": 2, "weekly_days": "8"}}, {"recurrence.weekly_days"}),
        ({"type": 8, "recurrence": {"type": 2, "weekly_days": "1;3"}}, {"recurrence.weekly_days"}),
        ({"type": 8, "recurrence": {"type": 3, "monthly_day": 32}}, {"recurrence.monthly_day"}),
        ({"type": 8, "recurrence": {"type": 3, "monthly_week": 2}}, {"recurrence.monthly_week"}),
        (
            {"type": 8, "recurrence": {"type": 1, "repeat_interval": 91}},
            {"recurrence.repeat_interval"},
        ),
        (
            {"type": 8, "recurrence": {"type": 3, "repeat_interval": 4}},
            {"recurrence.repeat_interval"},
        ),
        (
            {"type": 8, "recurrence": {"type": 1, "end_date_time": "next year"}},
            {"recurrence.end_date_time"},
        ),
        ({"tracking_fields": [{"value": "x"}]}, {"tracking_fields.0.field"}),
    ],
)
def test_create_validation(client: httpx.Client, body: dict[str, Any], fields: set[str]) -> None:
    response = client.post("/users/me/meetings", json=body)
    assert error_fields(response) == fields
    patch_target = create(client, {"topic": "target"})
    patched = client.patch(f"/meetings/{patch_target['id']}", json=body)
    if body.get("type") == 8 and "recurrence" not in body:
        assert error_fields(patched) == {"recurrence"}
    else:
        assert error_fields(patched) == fields
    assert get_meeting(client, patch_target["id"])["topic"] == "target"  # nothing changed


@pytest.mark.parametrize("raw", [b"{bad json", b"[1, 2]", b'"text"', b"\xff\xfe", b"null"])
def test_malformed_bodies_fail_validation(client: httpx.Client, raw: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    response = client.post("/users/me/meetings", content=raw, headers=headers)
    body = assert_zoom_error(response, 400, 300, "Validation Failed.")
    assert body["errors"] == [
        {"field": "body", "message": "Request Body should be a valid JSON object."}
    ]


def test_prescheduling_only_for_types_2_and_3(client: httpx.Client) -> None:
    body = {"type": 8, "pre_schedule": True, "recurrence": {"type": 1}}
    assert_zoom_error(client.post("/users/me/meetings", json=body), 400, 3000)
    assert create(client, {"type": 2, "pre_schedule": True})["pre_schedule"] is True


# ---- invite links, invitation, registrants -----------------------------------------------------


def test_invite_links(client: httpx.Client) -> None:
    meeting = create(client, {"topic": "Links"})
    path = f"/meetings/{meeting['id']}/invite_links"
    response = client.post(path, json={"attendees": [{"name": "Ann"}, {"name": "Bob"}], "ttl": 600})
    assert response.status_code == 201
    links = assert_matches_spec(response, "POST", "/meetings/{meetingId}/invite_links")["attendees"]
    assert [link["name"] for link in links] == ["Ann", "Bob"]
    assert len({link["join_url"] for link in links}) == 2
    assert all(str(meeting["id"]) in link["join_url"] for link in links)
    assert error_fields(client.post(path, json={"attendees": []})) == {"attendees"}
    assert error_fields(client.post(path, json={})) == {"attendees"}
    too_many = {"attendees": [{"name": f"n{i}"} for i in range(501)]}
    assert error_fields(client.post(path, json=too_many)) == {"attendees"}
    long_ttl = {"attendees": [{"name": "Ann"}], "ttl": 7_776_001}
    assert error_fields(client.post(path, json=long_ttl)) == {"ttl"}
    assert error_fields(client.post(path, json={"attendees": [{}]})) == {"attendees.0.name"}
    assert_zoom_error(client.post("/meetings/1/invite_links", json=too_many), 404, 3001)


def test_invitation(client: httpx.Client) -> None:
    meeting = create(
        client,
        {"topic": "Quarterly review", "start_time": "2031-06-01T14:00:00Z", "password": "pw42"},
    )
    response = client.get(f"/meetings/{meeting['id']}/invitation")
    text = assert_matches_spec(response, "GET", "/meetings/{meetingId}/invitation")["invitation"]
    spaced = str(meeting["id"])
    assert "Topic: Quarterly review" in text
    assert meeting["join_url"] in text and "Passcode: pw42" in text
    assert f"Meeting ID: {spaced[:3]} {spaced[3:7]} {spaced[7:]}" in text
    assert "Jun 01, 2031 02:00 PM UTC" in text


def test_registrants(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    closed = create(client, {"topic": "closed"})
    path = f"/meetings/{closed['id']}/registrants"
    refused = client.post(path, json={"email": "a@example.com", "first_name": "A"})
    message = f"Registration has not been enabled for this meeting: {closed['id']}."
    assert_zoom_error(refused, 404, 404, message)

    opened = create(client, {"topic": "open", "settings": {"approval_type": 0}})
    assert opened["registration_url"]
    path = f"/meetings/{opened['id']}/registrants"
    response = client.post(path, json={"email": "ann@example.com", "first_name": "Ann"})
    assert response.status_code == 201
    answer = assert_matches_spec(response, "POST", "/meetings/{meetingId}/registrants")
    assert answer["id"] == opened["id"] and answer["topic"] == "open"
    assert answer["registrant_id"] and answer["join_url"]
    assert answer["start_time"] == opened["start_time"]
    twice = client.post(path, json={"email": "ANN@example.com", "first_name": "Ann"})
    assert twice.json()["registrant_id"] == answer["registrant_id"]
    stored = zoom_emulator.state.meetings[opened["id"]].registrants
    assert len(stored) == 1 and stored[0].status == "approved"

    assert error_fields(client.post(path, json={"first_name": "No mail"})) == {"email"}
    assert error_fields(client.post(path, json={"email": "b@example.com"})) == {"first_name"}
    assert error_fields(client.post(path, json={"email": "not-an-email", "first_name": "B"})) == {
        "email"
    }

    floating = create(client, {"type": 3, "settings": {"approval_type": 0}})
    assert floating["settings"]["approval_type"] == 2  # Zoom refuses registration on type 3
    refused = client.post(
        f"/meetings/{floating['id']}/registrants",
        json={"email": "c@example.com", "first_name": "C"},
    )
    assert_zoom_error(refused, 404, 404)


def test_registrant_of_a_recurring_meeting_gets_occurrences(client: httpx.Client) -> None:
    meeting = daily_registration_meeting(client, 3, approval_type=1)
    first = meeting["occurrences"][0]["occurrence_id"]
    response = client.post(
        f"/meetings/{meeting['id']}/registrants",
        params={"occurrence_ids": first},
        json={"email": "d@example.com", "first_name": "D", "auto_approve": False},
    )
    answer = assert_matches_spec(response, "POST", "/meetings/{meetingId}/registrants")
    assert [o["occurrence_id"] for o in answer["occurrences"]] == [first]
    bad = client.post(
        f"/meetings/{meeting['id']}/registrants",
        params={"occurrence_ids": "123"},
        json={"email": "e@example.com", "first_name": "E"},
    )
    assert error_fields(bad) == {"occurrence_ids"}


# ---- scopes and ownership ----------------------------------------------------------------------


def test_missing_scope_is_400_4711(zoom_emulator: ZoomEmulator, client: httpx.Client) -> None:
    meeting = create(client, {"topic": "scoped"})
    token = mint_token(zoom_emulator, ["meeting:read"])
    with httpx.Client(
        base_url=zoom_emulator.api_url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        assert_matches_spec(http.get(f"/meetings/{meeting['id']}"), "GET", MEETING)
        refused = http.post("/users/me/meetings", json={})
        assert_zoom_error(
            refused,
            400,
            4711,
            "Invalid access token, does not contain scopes:"
            "[meeting:write:meeting, meeting:write:meeting:admin].",
        )
        assert_zoom_error(http.delete(f"/meetings/{meeting['id']}"), 400, 4711)
    assert meeting["id"] in zoom_emulator.state.meetings


def test_user_level_token_cannot_touch_others_meetings(
    zoom_emulator: ZoomEmulator, client: httpx.Client
) -> None:
    other = member(zoom_emulator)
    owners = create(client, {"topic": "owner's"})
    with user_client(zoom_emulator, ["meeting:read", "meeting:write"], other.email) as http:
        own = http.post("/users/me/meetings", json={"topic": "mine"})
        assert assert_matches_spec(own, "POST", MEETINGS)["host_id"] == other.id
        denied = "Cannot access meeting info."
        assert_zoom_error(http.get(f"/meetings/{owners['id']}"), 400, 3000, denied)
        assert_zoom_error(http.patch(f"/meetings/{owners['id']}", json={}), 400, 3000, denied)
        assert_zoom_error(http.delete(f"/meetings/{owners['id']}"), 400, 3000, denied)
        owner = zoom_emulator.state.owner()
        assert_zoom_error(http.post(f"/users/{owner.id}/meetings", json={}), 400, 200)
        assert_zoom_error(http.get(f"/users/{owner.email}/meetings"), 400, 200)
    admin_scopes = ["meeting:read:admin", "meeting:write:admin"]
    with user_client(zoom_emulator, admin_scopes, other.email) as http:
        assert_matches_spec(http.get(f"/meetings/{owners['id']}"), "GET", MEETING)


# ---- rate limits -------------------------------------------------------------------------------

PRO = EmulatorConfig(rate_limits="pro", seed_users=2)


@pytest.mark.parametrize("emulator_config", [PRO], indirect=True)
def test_the_101st_meeting_write_of_a_day_is_refused(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, client: httpx.Client
) -> None:
    owner = zoom_emulator.state.owner()
    today = datetime.now(UTC).date()
    limiter = zoom_emulator.app.state.rate_limiter
    limiter._meeting_writes[(owner.id, today.isoformat())] = 99  # 99 creates/updates sent today
    hundredth = create(client, {"topic": "100th"})
    refused = client.post("/users/me/meetings", json={"topic": "101st"})
    assert response_schema("POST", MEETINGS, 429) is None  # the spec: a 429 without a schema
    assert_zoom_error(
        refused,
        429,
        429,
        "You have exceeded the daily rate limit (100) of Meeting Create/Update API requests "
        "permitted for this particular user. You may resume these requests at GMT 00:00:00.",
    )
    assert refused.headers["X-RateLimit-Type"] == "Daily-limit"
    assert refused.headers["X-RateLimit-Limit"] == "100"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    retry_at = iso(refused.headers["Retry-After"])
    assert retry_at == datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    patch = client.patch(f"/meetings/{hundredth['id']}", json={"topic": "again"})
    assert_zoom_error(patch, 429, 429)
    assert get_meeting(client, hundredth["id"])["topic"] == "100th"  # the update did not happen
    assert len(zoom_emulator.state.meetings) == 1
    assert create(client, {"topic": "other host"}, member(zoom_emulator).id)  # per host


@pytest.mark.parametrize("emulator_config", [PRO], indirect=True)
async def test_medium_endpoints_are_limited_per_second(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    """25 concurrent list calls against Medium's 20/s. A burst may straddle a one-second window
    boundary and pass, so up to three bursts are sent until one is limited."""
    limited: list[httpx.Response] = []
    async with httpx.AsyncClient(
        base_url=zoom_emulator.api_url, headers=auth_headers, timeout=10
    ) as http:
        for _ in range(3):
            answers = await asyncio.gather(*(http.get("/users/me/meetings") for _ in range(25)))
            limited = [a for a in answers if a.status_code == 429]
            for answer in answers:
                if answer.status_code == 200:
                    assert_matches_spec(answer, "GET", MEETINGS)
            if limited:
                break
    assert limited, "25 requests at once never tripped the 20/s Medium limit"
    for answer in limited:
        body = assert_zoom_error(answer, 429, 429)
        assert body["message"] == (
            "You have reached the maximum per-second rate limit for this API. Try again later."
        )
        assert answer.headers["X-RateLimit-Type"] == "QPS"
        assert answer.headers["X-RateLimit-Category"] == "Medium"
        assert answer.headers["X-RateLimit-Limit"] == "20"
        assert answer.headers["X-RateLimit-Remaining"] == "0"
        retry_at = iso(answer.headers["Retry-After"])
        now = datetime.now(UTC)
        assert now - timedelta(seconds=2) <= retry_at <= now + timedelta(seconds=2)
    assert zoom_emulator.state.counters["rate_limited QPS"] >= len(limited)


# ---- no input crashes the emulator -------------------------------------------------------------

_KEYS = [
    "type", "start_time", "timezone", "recurrence", "settings", "end_times", "end_date_time",
    "weekly_days", "monthly_day", "monthly_week", "monthly_week_day", "repeat_interval",
    "password", "duration", "attendees", "name", "ttl", "email", "first_name", "approval_type",
    "tracking_fields", "field", "schedule_for", "pre_schedule", "topic", "agenda",
]  # fmt: skip
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        ["2031-01-01T10:00:00Z", "9999-12-31T23:59:59", "0001-01-01T00:00:00", "Etc/GMT+12"]
    )
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=6)
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_JSON, target=st.sampled_from(["create", "update", "invite_links", "registrants"]))
def test_arbitrary_bodies_never_crash(client: httpx.Client, body: Any, target: str) -> None:
    meeting_id = 81_000_000_000 if target == "create" else _registration_meeting(client)
    method, path = {
        "create": ("POST", "/users/me/meetings"),
        "update": ("PATCH", f"/meetings/{meeting_id}"),
        "invite_links": ("POST", f"/meetings/{meeting_id}/invite_links"),
        "registrants": ("POST", f"/meetings/{meeting_id}/registrants"),
    }[target]
    response = client.request(method, path, json=body)
    assert response.status_code in (200, 201, 204, 400, 404), response.text
    if response.status_code >= 400:
        assert_zoom_error(response, response.status_code, response.json()["code"])


def _registration_meeting(client: httpx.Client) -> int:
    """One meeting with registration on, created once per client."""
    cached: int | None = getattr(client, "_test_meeting_id", None)
    if cached is None:
        cached = create(client, {"settings": {"approval_type": 0}})["id"]
        client._test_meeting_id = cached  # type: ignore[attr-defined]
    return cached
