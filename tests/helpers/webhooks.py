"""Shared helpers of the webhook tests: signed requests and an emitter that records events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from prefect_zoom.webhooks import sign
from zoom_emulator import ZoomEmulator, free_port

SECRET = "testWebhookSecretToken"


def signed(
    body: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json; charset=utf-8",
    extra: dict[str, str] | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of a delivery Zoom would sign with ``secret``."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "content-type": content_type,
        "x-zm-request-timestamp": stamp,
        "x-zm-signature": sign(secret, stamp, raw),
        **(extra or {}),
    }
    return raw, headers


def recording_completed(
    uuid: str = "abc/DEF+ghi==", *, event_ts: int | None = None
) -> dict[str, Any]:
    """A ``recording.completed`` envelope shaped like Zoom's, with secrets to strip."""
    return {
        "event": "recording.completed",
        "event_ts": event_ts if event_ts is not None else int(time.time() * 1000),
        "payload": {
            "account_id": "acct123",
            "object": {
                "uuid": uuid,
                "id": 81234567890,
                "account_id": "acct123",
                "host_id": "host42",
                "host_email": "host@example.com",
                "topic": "Weekly sync",
                "start_time": "2024-05-01T12:00:00Z",
                "duration": 30,
                "password": "meetingPassword",
                "recording_play_passcode": "playPasscode",
                "share_url": "https://zoom.example/rec/share/x",
                "join_url": "https://zoom.example/j/81234567890?pwd=secretPwd&lang=en",
                "settings": {"h323_password": "123", "pstn_password": "456"},
                "start_url": "https://zoom.example/s/81234567890?zak=hostKey",
                "recording_files": [
                    {
                        "id": "file1",
                        "file_type": "MP4",
                        "download_url": "https://zoom.example/rec/download/file1",
                    }
                ],
            },
        },
        "download_token": "dlToken123",
    }


class RecordingEmit:
    """An ``emit`` that records its calls; with a ``gate``, each call first waits for it."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.calls: list[dict[str, Any]] = []
        self.started = threading.Event()
        self.arrived = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, **kwargs: Any) -> None:
        self.started.set()
        if self.gate is not None and not self.gate.wait(30):
            raise TimeoutError("the test never opened the gate")
        with self._lock:
            self.calls.append(kwargs)
        self.arrived.set()

    @property
    def events(self) -> list[str]:
        with self._lock:
            return [call["event"] for call in self.calls]


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server could not start")
        thread.join(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def subscribed_receiver(emulator: ZoomEmulator) -> Iterator[tuple[Any, RecordingEmit]]:
    """The real receiver app, with an emitter that records its events, served in a thread and
    subscribed to the emulator's webhooks (the challenge passed); yields the app and the emitter."""
    from prefect_zoom.webhooks import create_receiver_app

    emit = RecordingEmit()
    app = create_receiver_app(SECRET, emit=emit)
    with serve_in_thread(app) as base_url:
        subscribed = httpx.put(
            f"{emulator.base_url}/_emulator/webhook",
            json={"url": f"{base_url}/zoom/webhook", "secret_token": SECRET},
            timeout=10,
        )
        assert subscribed.status_code == 200, subscribed.text
        yield app, emit
