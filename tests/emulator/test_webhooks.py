"""The emulator sends signed webhooks that the receiver accepts, as Zoom's Event Subscriptions do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from helpers.webhooks import SECRET, RecordingEmit, serve_in_thread

from emulator.conftest import read_until
from prefect_zoom.webhooks import create_receiver_app, url_validation_answer
from prefect_zoom.webhooks.receiver import WebhookReceiver
from zoom_emulator import ZoomEmulator, free_port


class Receiver:
    """The real receiver app on uvicorn in a thread, with an emitter that records events."""

    def __init__(self, url: str, app: FastAPI, emit: RecordingEmit) -> None:
        self.url = url
        self.app = app
        self.emit = emit

    @property
    def receiver(self) -> WebhookReceiver:
        receiver: WebhookReceiver = self.app.state.receiver
        return receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    emit = RecordingEmit()
    app = create_receiver_app(SECRET, emit=emit)
    with serve_in_thread(app) as base_url:
        yield Receiver(f"{base_url}/zoom/webhook", app, emit)


def subscribe(zoom: ZoomEmulator, url: str, secret: str = SECRET, **extra: Any) -> httpx.Response:
    return httpx.put(
        f"{zoom.base_url}/_emulator/webhook",
        json={"url": url, "secret_token": secret, **extra},
        timeout=10,
    )


def deliveries(zoom: ZoomEmulator) -> list[dict[str, Any]]:
    """All deliveries, once those in flight are done (the emulator waits for them)."""
    answer = zoom.control("GET", "webhook/deliveries", params={"wait": 10}, timeout=15)
    assert answer["pending"] == 0
    found: list[dict[str, Any]] = answer["deliveries"]
    return found


def test_subscribing_passes_the_challenge_and_a_new_recording_is_delivered(
    zoom_emulator: ZoomEmulator, receiver: Receiver
) -> None:
    zoom = zoom_emulator
    response = subscribe(zoom, receiver.url)
    assert response.status_code == 200, response.text
    assert response.json()["subscribed"] is True
    assert receiver.receiver.health()["url_validations"] == 1
    assert "webhook_secret_token" not in zoom.control("GET", "state")["config"]

    created = zoom.control("POST", "recordings", json={"topic": "Webhook demo", "mp4_bytes": 5000})
    sent = deliveries(zoom)
    assert [d["event"] for d in sent] == ["endpoint.url_validation", "recording.completed"]
    assert sent[1]["delivered"] is True
    assert [a["status"] for a in sent[1]["attempts"]] == [200]
    assert zoom.control("GET", "counters")["webhook 200"] == 2

    assert receiver.receiver.drain(10)
    assert receiver.emit.events == ["zoom.recording.completed"]
    event = receiver.emit.calls[0]
    assert event["resource"]["prefect.resource.id"] == f"zoom.meeting.{created['uuid']}"
    assert event["resource"]["prefect.resource.name"] == "Webhook demo"
    assert event["resource"]["zoom.account-id"] == zoom.config.account_id
    payload = event["payload"]
    obj = payload["object"]
    assert obj["uuid"] == created["uuid"]
    assert obj["host_email"] == zoom.config.user_email
    assert "password" not in obj and "recording_play_passcode" not in obj
    assert {f["id"] for f in obj["recording_files"]} == {f["id"] for f in created["files"]}

    # the download_token and the absolute download_url fetch the file with no other credential
    mp4 = next(f for f in obj["recording_files"] if f["file_type"] == "MP4")
    assert mp4["download_url"].startswith(f"{zoom.base_url}/rec/download/")
    download = httpx.get(
        mp4["download_url"],
        headers={"Authorization": f"Bearer {payload['download_token']}"},
        follow_redirects=True,
    )
    assert download.status_code == 200
    assert len(download.content) == mp4["file_size"]


def test_a_wrong_secret_token_fails_the_subscription(
    zoom_emulator: ZoomEmulator, receiver: Receiver
) -> None:
    zoom = zoom_emulator
    response = subscribe(zoom, receiver.url, secret="not-the-apps-secret")
    assert response.status_code == 400
    message = response.json()["message"]
    assert "URL validation failed" in message
    assert receiver.url in message
    assert "HTTP 401" in message  # the receiver refused the signature
    assert "not-the-apps-secret" not in message
    assert zoom.control("GET", "webhook")["subscribed"] is False
    zoom.control("POST", "recordings", json={"mp4_bytes": 1000})
    assert [d["event"] for d in deliveries(zoom)] == ["endpoint.url_validation"]
    assert receiver.emit.calls == []


def test_a_wrong_encrypted_token_fails_the_subscription(zoom_emulator: ZoomEmulator) -> None:
    """An endpoint that skips the signature but hashes with another secret (a common bug)."""
    stub = FastAPI()

    @stub.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        body = await request.json()
        return url_validation_answer("another-secret", body["payload"]["plainToken"])

    with serve_in_thread(stub) as base_url:
        response = subscribe(zoom_emulator, f"{base_url}/hook")
    assert response.status_code == 400
    assert "encryptedToken is wrong" in response.json()["message"]


def test_an_unreachable_endpoint_fails_the_subscription(zoom_emulator: ZoomEmulator) -> None:
    response = subscribe(zoom_emulator, f"http://127.0.0.1:{free_port()}/zoom/webhook")
    assert response.status_code == 400
    assert "URL validation failed" in response.json()["message"]
    assert zoom_emulator.control("GET", "counters")["webhook error"] == 1


def test_not_a_url_is_refused(zoom_emulator: ZoomEmulator) -> None:
    response = subscribe(zoom_emulator, "ftp://example.com/hook")
    assert response.status_code == 400


def test_any_event_can_be_sent_and_the_challenge_resent(
    zoom_emulator: ZoomEmulator, receiver: Receiver
) -> None:
    zoom = zoom_emulator
    assert subscribe(zoom, receiver.url).status_code == 200
    meeting = {"id": 81000000001, "uuid": "m-uuid==", "topic": "Planning", "host_id": "h1"}
    sent = zoom.control(
        "POST", "webhook/send", json={"event": "meeting.created", "object": meeting}
    )
    assert sent["event"] == "meeting.created"
    revalidated = zoom.control("POST", "webhook/validate")
    assert revalidated["delivered"] is True
    assert receiver.receiver.health()["url_validations"] == 2
    assert all(d["delivered"] for d in deliveries(zoom))
    assert receiver.receiver.drain(10)
    assert receiver.emit.events == ["zoom.meeting.created"]
    assert receiver.emit.calls[0]["resource"]["prefect.resource.id"] == "zoom.meeting.m-uuid=="


def test_nothing_is_sent_without_a_subscription(zoom_emulator: ZoomEmulator) -> None:
    zoom_emulator.control("POST", "recordings", json={"mp4_bytes": 1000})
    assert deliveries(zoom_emulator) == []
    response = httpx.post(
        f"{zoom_emulator.base_url}/_emulator/webhook/send",
        json={"event": "meeting.created", "object": {}},
    )
    assert response.status_code == 400


def test_failed_deliveries_are_retried_and_recorded(zoom_emulator: ZoomEmulator) -> None:
    """An endpoint that passes the challenge but answers 500 to events: each attempt is kept."""
    stub = FastAPI()

    @stub.post("/hook")
    async def hook(request: Request) -> Any:
        body = await request.json()
        if body["event"] == "endpoint.url_validation":
            return url_validation_answer(SECRET, body["payload"]["plainToken"])
        return Response(status_code=500)

    zoom = zoom_emulator
    with serve_in_thread(stub) as base_url:
        assert subscribe(zoom, f"{base_url}/hook", retry_delays=[0, 0]).status_code == 200
        zoom.control("POST", "recordings", json={"mp4_bytes": 1000})
        sent = deliveries(zoom)
    completed = sent[-1]
    assert completed["event"] == "recording.completed"
    assert completed["delivered"] is False
    assert [a["status"] for a in completed["attempts"]] == [500, 500, 500]
    assert zoom.control("GET", "counters")["webhook 500"] == 3


# ---- the CLI -----------------------------------------------------------------------------------------
def test_the_cli_receiver_takes_the_emulators_webhooks(zoom_emulator: ZoomEmulator) -> None:
    from prefect.settings import PREFECT_API_URL

    port = free_port()
    env = {
        **os.environ,
        "COLUMNS": "200",
        "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),  # the session's test harness
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect_zoom.cli", "webhook", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        banner = read_until(process, "Uvicorn running")
        assert f"http://127.0.0.1:{port}/zoom/webhook" in banner
        assert SECRET not in banner
        url = f"http://127.0.0.1:{port}/zoom/webhook"
        assert subscribe(zoom_emulator, url).status_code == 200
        zoom_emulator.control("POST", "recordings", json={"mp4_bytes": 1000})
        assert all(d["delivered"] for d in deliveries(zoom_emulator))
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert (health["url_validations"], health["accepted"], health["rejected"]) == (1, 1, 0)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    rest = process.stdout.read() if process.stdout else ""
    assert "Traceback" not in rest
    assert SECRET not in rest


def test_the_cli_needs_a_secret_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ZOOM_WEBHOOK_SECRET_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "prefect_zoom.cli", "webhook", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "COLUMNS": "200"},
    )
    assert result.returncode != 0
    assert "ZOOM_WEBHOOK_SECRET_TOKEN" in result.stdout + result.stderr


def test_recording_completed_waits_until_every_file_is_processed(
    zoom_emulator: ZoomEmulator, receiver: Receiver
) -> None:
    zoom = zoom_emulator
    assert subscribe(zoom, receiver.url).status_code == 200
    created = zoom.control(
        "POST", "recordings", json={"mp4_bytes": 5000, "processing_file_types": ["MP4"]}
    )
    assert [d["event"] for d in deliveries(zoom)] == ["endpoint.url_validation"]

    zoom.control("POST", f"recordings/{quote(created['uuid'], safe='')}/complete")
    sent = deliveries(zoom)
    assert [d["event"] for d in sent] == ["endpoint.url_validation", "recording.completed"]
    assert receiver.receiver.drain(10)
    obj = receiver.emit.calls[0]["payload"]["object"]
    assert obj["uuid"] == created["uuid"]
    assert {f["status"] for f in obj["recording_files"]} == {"completed"}
    # Completing again changes nothing and sends nothing more.
    zoom.control("POST", f"recordings/{quote(created['uuid'], safe='')}/complete")
    assert len(deliveries(zoom)) == 2
