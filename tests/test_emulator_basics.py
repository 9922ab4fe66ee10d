"""The emulator starts on a free port, answers in Zoom's error shape, and stops."""

from __future__ import annotations

import httpx

from prefect_zoom.emulator import ZoomEmulator, running_emulator


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
