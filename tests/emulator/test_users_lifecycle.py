"""The emulator's users' lifecycle endpoints over real HTTP, checked against Zoom's OpenAPI spec:
``POST /users``, ``PATCH``/``DELETE /users/{userId}`` and ``PUT /users/{userId}/status``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers.zoom_spec import assert_matches_spec

from emulator.conftest import mint_token
from emulator.test_users_meetings import assert_zoom_error, create, member, user_client
from zoom_emulator import EmulatorConfig, ZoomEmulator

USERS = "/users"
USER = "/users/{userId}"
STATUS = "/users/{userId}/status"


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(seed_users=3)


@pytest.fixture
def client(zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=zoom_emulator.api_url, headers=auth_headers, timeout=10) as http:
        yield http


def new_user(client: httpx.Client, email: str, action: str = "create", **info: Any) -> Any:
    body = {"action": action, "user_info": {"email": email, "type": 1, **info}}
    response = client.post(USERS, json=body)
    assert response.status_code == 201, response.text
    return assert_matches_spec(response, "POST", USERS)


def read(client: httpx.Client, user_id: str) -> Any:
    return assert_matches_spec(client.get(f"/users/{user_id}"), "GET", USER)


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("create", "pending"),
        ("autoCreate", "active"),
        ("custCreate", "active"),
        ("ssoCreate", "active"),
    ],
)
def test_each_create_action(client: httpx.Client, action: str, status: str) -> None:
    created = new_user(client, f"{action.lower()}@example.com", action, first_name="Ada")
    assert created["email"] == f"{action.lower()}@example.com" and created["type"] == 1
    assert read(client, created["id"])["status"] == status
    listed = client.get(USERS, params={"status": status}).json()["users"]
    assert created["id"] in {u["id"] for u in listed}


def test_existing_email_is_409_1005(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    taken = member(zoom_emulator).email.upper()
    response = client.post(
        USERS, json={"action": "create", "user_info": {"email": taken, "type": 1}}
    )
    assert_zoom_error(response, 409, 1005, f'Email "{taken}" has already been used.')


def test_bad_create_bodies_are_300(client: httpx.Client) -> None:
    for body, field in [
        ({"action": "invite", "user_info": {"email": "a@example.com", "type": 1}}, "action"),
        ({"action": "create", "user_info": {"email": "nope", "type": 1}}, "user_info.email"),
        (
            {"action": "create", "user_info": {"email": "a@example.com", "type": 3}},
            "user_info.type",
        ),
    ]:
        errors = assert_zoom_error(client.post(USERS, json=body), 400, 300)["errors"]
        assert field in {e["field"] for e in errors}
    sso_only = {"action": "create", "user_info": {"email": "a@example.com", "type": 99}}
    assert_zoom_error(client.post(USERS, json=sso_only), 400, 300)
    assert new_user(client, "sso@example.com", "ssoCreate", type=99)["type"] == 99


def test_update_changes_only_the_fields_sent(client: httpx.Client) -> None:
    created = new_user(client, "grace@example.com", first_name="Grace", last_name="Hopper")
    response = client.patch(f"/users/{created['id']}", json={"dept": "Navy", "type": 2})
    assert response.status_code == 204 and not response.content
    after = read(client, "grace@example.com")
    assert (after["dept"], after["type"], after["first_name"]) == ("Navy", 2, "Grace")
    assert_zoom_error(client.patch("/users/nobody@example.com", json={"dept": "x"}), 404, 1001)


def test_deactivate_and_activate(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    someone = member(zoom_emulator)
    for action, status in [("deactivate", "inactive"), ("activate", "active")]:
        response = client.put(f"/users/{someone.id}/status", json={"action": action})
        assert response.status_code == 200
        assert_matches_spec(response, "PUT", STATUS)
        assert read(client, someone.id)["status"] == status
    owner = zoom_emulator.state.owner()
    refused = client.put(f"/users/{owner.id}/status", json={"action": "deactivate"})
    assert_zoom_error(refused, 400, 200)
    assert zoom_emulator.state.owner().status == "active"
    assert_zoom_error(
        client.put("/users/x@example.com/status", json={"action": "activate"}), 404, 1001
    )


def test_delete_transfers_meetings_when_asked(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    leaving, staying = member(zoom_emulator, 1), member(zoom_emulator, 2)
    kept = create(client, {"topic": "Kept"}, leaving.id)
    response = client.delete(
        f"/users/{leaving.id}",
        params={"action": "delete", "transfer_email": staying.email, "transfer_meeting": "true"},
    )
    assert response.status_code == 204 and not response.content
    assert_zoom_error(client.get(f"/users/{leaving.id}"), 404, 1001)
    assert zoom_emulator.state.meetings[kept["id"]].host_id == staying.id
    assert_zoom_error(client.delete(f"/users/{leaving.id}"), 404, 1001)


def test_disassociate_drops_meetings_without_transfer(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    leaving = member(zoom_emulator, 1)
    gone = create(client, {"topic": "Gone"}, leaving.id)
    assert client.delete(f"/users/{leaving.email}").status_code == 204
    assert gone["id"] not in zoom_emulator.state.meetings
    to_self = client.delete(
        f"/users/{member(zoom_emulator, 2).id}",
        params={"transfer_email": member(zoom_emulator, 2).email, "transfer_meeting": "true"},
    )
    assert_zoom_error(to_self, 400, 300)
    no_target = client.delete(
        f"/users/{member(zoom_emulator, 2).id}", params={"transfer_meeting": "true"}
    )
    assert_zoom_error(no_target, 400, 300)
    owner = zoom_emulator.state.owner()
    assert_zoom_error(client.delete(f"/users/{owner.id}"), 400, 1117)


def test_lifecycle_needs_write_scopes(zoom_emulator: ZoomEmulator) -> None:
    someone = member(zoom_emulator)
    token = mint_token(zoom_emulator, ["user:read:admin"])
    with httpx.Client(
        base_url=zoom_emulator.api_url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        body = {"action": "create", "user_info": {"email": "x@example.com", "type": 1}}
        assert_zoom_error(http.post(USERS, json=body), 400, 4711)
        assert_zoom_error(http.delete(f"/users/{someone.id}"), 400, 4711)
        assert_zoom_error(
            http.put(f"/users/{someone.id}/status", json={"action": "deactivate"}), 400, 4711
        )
    # a user-level token without :admin may change only itself
    with user_client(zoom_emulator, ["user:write"], someone.email) as http:
        assert http.patch("/users/me", json={"dept": "Mine"}).status_code == 204
        other = member(zoom_emulator, 2)
        assert_zoom_error(http.patch(f"/users/{other.id}", json={"dept": "x"}), 400, 200)
        assert_zoom_error(http.post(USERS, json=body), 400, 4711)  # creating is admin-only
