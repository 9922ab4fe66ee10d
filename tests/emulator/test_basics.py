"""The emulator starts on a free port, answers in Zoom's error shape, and stops."""

from __future__ import annotations

import httpx
import pytest

from zoom_emulator import ZoomEmulator, running_emulator


def test_unauthenticated_call_gets_zoom_401(zoom_emulator: ZoomEmulator) -> None:
    response = httpx.get(f"{zoom_emulator.api_url}/users/me")
    assert response.status_code == 401
    assert response.json() == {"code": 124, "message": "Invalid access token."}
    assert response.headers["x-zm-trackingid"].startswith("v=2.0;")


def test_token_in_query_string_is_refused(zoom_emulator: ZoomEmulator) -> None:
    response = httpx.get(f"{zoom_emulator.api_url}/users/me", params={"access_token": "x"})
    assert response.status_code == 401
    assert "not supported as query parameter" in response.json()["message"]


def test_context_manager_stops_the_server() -> None:
    with running_emulator() as zoom:
        url = zoom.base_url
        assert httpx.get(f"{url}/_emulator/docs").status_code == 200
    try:
        httpx.get(f"{url}/_emulator/docs", timeout=1)
    except httpx.ConnectError:
        pass
    else:  # pragma: no cover - the assertion below explains
        raise AssertionError("the emulator still answers after its with-block ended")


def test_control_surface_seeds_and_counts(zoom_emulator: ZoomEmulator) -> None:
    user = zoom_emulator.control(
        "POST", "users", json={"email": "new@example.com", "first_name": "New"}
    )
    meeting = zoom_emulator.control(
        "POST",
        "meetings",
        params={"user": "new@example.com"},
        json={"topic": "Seeded", "start_time": "2030-01-02T10:00:00Z", "duration": 30},
    )
    assert meeting["host_id"] == user["id"]
    recording = zoom_emulator.control(
        "POST", "recordings", json={"user": user["id"], "mp4_bytes": 4096, "file_types": ["MP4"]}
    )
    assert recording["files"][0]["file_size"] == 4096

    token = zoom_emulator.state.issue_access_token(
        zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id],
        user_id=None,
        scopes=["meeting:read:admin"],
    ).value
    got = httpx.get(
        f"{zoom_emulator.api_url}/meetings/{meeting['id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert got.json()["topic"] == "Seeded"
    counters = zoom_emulator.control("GET", "counters")
    assert counters["GET /v2/meetings/{meetingId} 200"] == 1

    expired = zoom_emulator.control("POST", "tokens/expire", json={})
    assert expired["expired"] >= 1
    again = httpx.get(
        f"{zoom_emulator.api_url}/meetings/{meeting['id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.json() == {"code": 124, "message": "Access token is expired."}


def test_control_surface_rejects_a_bad_meeting(zoom_emulator: ZoomEmulator) -> None:
    response = httpx.post(
        f"{zoom_emulator.base_url}/_emulator/meetings", json={"topic": "x", "password": "x" * 11}
    )
    assert response.status_code == 400
    assert response.json()["code"] == 300


def test_the_fixture_comes_from_the_registered_pytest_plugin(
    request: pytest.FixtureRequest,
) -> None:
    """``zoom_emulator`` reaches tests through the ``pytest11`` entry point, not a conftest import."""
    import zoom_emulator.pytest_plugin

    plugin = request.config.pluginmanager.get_plugin("zoom_emulator")
    assert plugin is zoom_emulator.pytest_plugin
