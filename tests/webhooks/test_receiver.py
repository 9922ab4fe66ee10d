"""The webhook receiver over HTTP: Zoom's challenge, signatures, duplicates, answering before
emitting."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from helpers.webhooks import SECRET, RecordingEmit, recording_completed, serve_in_thread, signed

from prefect_zoom.webhooks import (
    create_receiver_app,
)
from prefect_zoom.webhooks.events import event_id
from prefect_zoom.webhooks.receiver import ReceiverSettings, WebhookReceiver


@pytest.fixture
def emit() -> RecordingEmit:
    return RecordingEmit()


@pytest.fixture
def app(emit: RecordingEmit) -> FastAPI:
    return create_receiver_app(SECRET, emit=emit)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        yield client
    app.state.receiver.close()


def receiver_of(app: FastAPI) -> WebhookReceiver:
    receiver: WebhookReceiver = app.state.receiver
    return receiver


async def deliver(client: httpx.AsyncClient, app: FastAPI, path: str = "/zoom/webhook") -> None:
    """Post a signed ``recording.completed`` to ``path``, expect 200, wait until it is emitted."""
    raw, headers = signed(recording_completed())
    assert (await client.post(path, content=raw, headers=headers)).status_code == 200
    assert receiver_of(app).drain(5)


# ---- URL validation --------------------------------------------------------------------------------
async def test_answers_the_url_validation_challenge(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    raw, headers = signed(
        {
            "event": "endpoint.url_validation",
            "event_ts": int(time.time() * 1000),
            "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
        }
    )
    response = await client.post("/zoom/webhook", content=raw, headers=headers)
    assert response.status_code == 200
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert response.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    assert receiver_of(app).drain(5)
    assert emit.calls == []
    assert receiver_of(app).health()["url_validations"] == 1


async def test_an_unsigned_challenge_is_refused(client: httpx.AsyncClient) -> None:
    body = {"event": "endpoint.url_validation", "payload": {"plainToken": "x"}}
    response = await client.post("/zoom/webhook", json=body)
    assert response.status_code == 401
    assert "encryptedToken" not in response.text


# ---- events ------------------------------------------------------------------------------------------
async def test_a_signed_event_is_accepted_and_emitted_once(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    envelope = recording_completed()
    raw, headers = signed(envelope)
    response = await client.post("/zoom/webhook", content=raw, headers=headers)
    assert response.status_code == 200
    assert receiver_of(app).drain(5)
    assert len(emit.calls) == 1
    call = emit.calls[0]
    assert call["event"] == "zoom.recording.completed"
    assert call["resource"] == {
        "prefect.resource.id": "zoom.meeting.abc/DEF+ghi==",
        "prefect.resource.name": "Weekly sync",
        "zoom.event": "recording.completed",
        "zoom.account-id": "acct123",
        "zoom.meeting-id": "81234567890",
        "zoom.meeting-uuid": "abc/DEF+ghi==",
        "zoom.host-id": "host42",
    }
    assert call["related"] == [
        {"prefect.resource.id": "zoom.account.acct123", "prefect.resource.role": "account"},
        {"prefect.resource.id": "zoom.user.host42", "prefect.resource.role": "host"},
    ]
    assert call["occurred"].timestamp() == pytest.approx(envelope["event_ts"] / 1000)
    payload = call["payload"]
    assert payload["account_id"] == "acct123"
    assert payload["event_ts"] == envelope["event_ts"]
    assert payload["download_token"] == "dlToken123"  # kept on purpose: the archive flow needs it
    files = payload["object"]["recording_files"]
    assert files[0]["download_url"] == "https://zoom.example/rec/download/file1"
    health = (await client.get("/health")).json()
    assert health["accepted"] == 1
    assert health["emitted"] == 1
    assert health["rejected"] == 0


async def test_the_root_path_also_receives(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    await deliver(client, app, "/")
    assert emit.events == ["zoom.recording.completed"]


async def test_secrets_are_stripped_from_the_payload(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    await deliver(client, app)
    obj = emit.calls[0]["payload"]["object"]
    text = json.dumps(emit.calls[0]["payload"])
    for secret in ("meetingPassword", "playPasscode", "secretPwd", "hostKey", '"123"', '"456"'):
        assert secret not in text
    assert "password" not in obj
    assert "start_url" not in obj
    assert obj["settings"] == {}
    assert obj["join_url"] == "https://zoom.example/j/81234567890?lang=en"
    assert obj["share_url"] == "https://zoom.example/rec/share/x"


async def test_user_and_account_events_get_their_own_resources(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    now_ms = int(time.time() * 1000)
    for body in (
        {
            "event": "user.created",
            "event_ts": now_ms,
            "payload": {"account_id": "acct1", "object": {"id": "u1", "email": "u@example.com"}},
        },
        {"event": "app_deauthorized.thing", "event_ts": now_ms, "payload": {"account_id": "acct1"}},
    ):
        raw, headers = signed(body)
        assert (await client.post("/zoom/webhook", content=raw, headers=headers)).status_code == 200
    assert receiver_of(app).drain(5)
    user, account = emit.calls
    assert user["resource"]["prefect.resource.id"] == "zoom.user.u1"
    assert user["resource"]["prefect.resource.name"] == "u@example.com"
    assert account["resource"]["prefect.resource.id"] == "zoom.account.acct1"
    assert account["related"] == []


# ---- rejections -----------------------------------------------------------------------------------------
Request = tuple[bytes, dict[str, str]]


def _rejections() -> dict[str, tuple[int, Callable[[], Request]]]:
    """Bad deliveries by name: the expected status and how to build it (at test time)."""
    body = recording_completed()

    def now() -> int:
        return int(time.time())

    def without(header: str) -> Request:
        raw, headers = signed(body)
        return raw, {k: v for k, v in headers.items() if k != header}

    def resigned(signature: str) -> Request:
        raw, headers = signed(body)
        return raw, {**headers, "x-zm-signature": signature}

    def changed_after_signing() -> Request:
        raw, headers = signed(body)
        return raw.replace(b"Weekly", b"Weakly"), headers

    deep = b'{"event":"a.b","event_ts":1,"payload":{"x":' + b"[" * 100 + b"]" * 100 + b"}}"
    surrogate = b'{"event":"a.b","event_ts":1,"payload":{"x":"\\ud800"}}'
    return {
        "stale timestamp": (401, lambda: signed(body, timestamp=now() - 301)),
        "future timestamp": (401, lambda: signed(body, timestamp=now() + 301)),
        "timestamp in ms": (401, lambda: signed(body, timestamp=now() * 1000)),
        "wrong secret": (401, lambda: signed(body, secret="someone-else")),
        "bad signature": (401, lambda: resigned("v0=" + "ab" * 32)),
        "body changed after signing": (401, changed_after_signing),
        "missing signature": (401, lambda: without("x-zm-signature")),
        "missing timestamp": (401, lambda: without("x-zm-request-timestamp")),
        "malformed JSON": (400, lambda: signed(b'{"event": "recording.completed", ')),
        "not UTF-8": (400, lambda: signed(b'{"event": "\xff"}')),
        "NaN": (400, lambda: signed(b'{"event": "a.b", "event_ts": NaN, "payload": {}}')),
        "text/plain": (415, lambda: signed(body, content_type="text/plain")),
        "a list": (422, lambda: signed(b"[1, 2]")),
        "event_ts text": (422, lambda: signed({**body, "event_ts": "1700000000000"})),
        "event_ts bool": (422, lambda: signed({**body, "event_ts": True})),
        "payload list": (422, lambda: signed({**body, "payload": []})),
        "object text": (422, lambda: signed({**body, "payload": {"object": "x"}})),
        "bad event name": (422, lambda: signed({**body, "event": "no dots here"})),
        "lone surrogate": (422, lambda: signed(surrogate)),
        "too deep": (422, lambda: signed(deep)),
        "oversized": (413, lambda: signed(b" " * (1 << 20) + b"{}")),
    }


@pytest.mark.parametrize(
    ("status", "build"),
    [pytest.param(status, build, id=name) for name, (status, build) in _rejections().items()],
)
async def test_bad_deliveries_are_refused_and_never_emitted(
    client: httpx.AsyncClient,
    app: FastAPI,
    emit: RecordingEmit,
    status: int,
    build: Callable[[], Request],
) -> None:
    raw, headers = build()
    response = await client.post("/zoom/webhook", content=raw, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]
    assert receiver_of(app).drain(5)
    assert emit.calls == []
    health = receiver_of(app).health()
    assert (health["rejected"], health["accepted"]) == (1, 0)


async def test_an_oversized_stream_without_content_length_is_refused(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    raw, headers = signed(b" " * (1 << 20) + b"{}")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 65536):
            yield raw[start : start + 65536]

    response = await client.post("/zoom/webhook", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert receiver_of(app).drain(5)
    assert emit.calls == []


# ---- duplicates ---------------------------------------------------------------------------------------
async def test_a_repeated_delivery_is_emitted_once(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    envelope = recording_completed()
    raw, headers = signed(envelope, extra={"x-zm-trackingid": "track-1"})
    first = await client.post("/zoom/webhook", content=raw, headers=headers)
    again = await client.post("/zoom/webhook", content=raw, headers=headers)
    # Zoom's retry: the same event, signed again later, with the same tracking id
    retry_raw, retry_headers = signed(
        envelope, timestamp=int(time.time()) + 1, extra={"x-zm-trackingid": "track-1"}
    )
    retry = await client.post("/zoom/webhook", content=retry_raw, headers=retry_headers)
    assert [r.status_code for r in (first, again, retry)] == [200, 200, 200]
    assert [r.json()["status"] for r in (first, again, retry)] == [
        "accepted",
        "duplicate",
        "duplicate",
    ]
    assert receiver_of(app).drain(5)
    assert emit.events == ["zoom.recording.completed"]
    assert receiver_of(app).health()["duplicates"] == 2


async def test_the_same_tracking_id_with_other_content_is_a_duplicate(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    for meeting in ("one", "two"):
        raw, headers = signed(recording_completed(meeting), extra={"x-zm-request-id": "req-9"})
        assert (await client.post("/zoom/webhook", content=raw, headers=headers)).status_code == 200
    assert receiver_of(app).drain(5)
    assert len(emit.calls) == 1


async def test_distinct_events_are_all_emitted(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    for meeting in ("one", "two", "three"):
        raw, headers = signed(recording_completed(meeting))
        assert (await client.post("/zoom/webhook", content=raw, headers=headers)).status_code == 200
    assert receiver_of(app).drain(5)
    ids = {call["id"] for call in emit.calls}
    assert len(ids) == 3


async def test_two_replicas_emit_one_prefect_event_id_for_one_zoom_event() -> None:
    """Each replica remembers only its own deliveries; the event id they emit is the same, so
    Prefect (whose trigger service skips an id it has processed) acts on the event once."""
    envelope = recording_completed(f"replicated-{uuid.uuid4().hex}")
    first, retried = signed(envelope, timestamp=int(time.time()) - 30), signed(envelope)
    ids = []
    for raw, headers in (first, retried):  # Zoom's retry is signed anew, to another replica
        emit = RecordingEmit()
        replica = create_receiver_app(SECRET, emit=emit)
        transport = httpx.ASGITransport(app=replica)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            answer = await client.post("/zoom/webhook", content=raw, headers=headers)
        assert answer.json() == {"status": "accepted"}
        assert receiver_of(replica).drain(5)
        receiver_of(replica).close()
        (call,) = emit.calls
        ids.append(call["id"])
    assert ids[0] == ids[1]


async def test_the_dedupe_memory_is_bounded() -> None:
    emit = RecordingEmit()
    app = create_receiver_app(SECRET, emit=emit, settings=ReceiverSettings(dedupe_size=2))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        first = recording_completed("first")
        for body in (first, recording_completed("second"), recording_completed("third"), first):
            raw, headers = signed(body)
            await client.post("/zoom/webhook", content=raw, headers=headers)
            assert receiver_of(app).drain(5)  # only delivered events can be forgotten
    assert len(emit.calls) == 4  # "first" fell out of the 2-entry memory
    receiver_of(app).close()


async def test_participants_joining_in_the_same_millisecond_are_distinct_events(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    """Same event, same ``event_ts``, same meeting: only the participant differs."""
    event_ts = int(time.time() * 1000)
    for name in ("Ada", "Grace"):
        body = {
            "event": "meeting.participant_joined",
            "event_ts": event_ts,
            "payload": {
                "account_id": "acct1",
                "object": {
                    "uuid": "same-meeting==",
                    "id": 81234567890,
                    "participant": {"user_name": name, "join_time": "2026-11-30T07:00:00Z"},
                },
            },
        }
        raw, headers = signed(body)
        answer = await client.post("/zoom/webhook", content=raw, headers=headers)
        assert answer.json() == {"status": "accepted"}
    assert receiver_of(app).drain(5)
    names = [call["payload"]["object"]["participant"]["user_name"] for call in emit.calls]
    assert names == ["Ada", "Grace"]
    assert len({call["id"] for call in emit.calls}) == 2


async def test_a_retry_with_the_same_body_is_a_duplicate_without_any_header(
    client: httpx.AsyncClient, app: FastAPI, emit: RecordingEmit
) -> None:
    envelope = recording_completed()
    first = signed(envelope, timestamp=int(time.time()) - 60)
    retry = signed(envelope)  # signed anew: other timestamp and signature, same body
    answers = [
        (await client.post("/zoom/webhook", content=raw, headers=headers)).json()
        for raw, headers in (first, retry)
    ]
    assert answers == [{"status": "accepted"}, {"status": "duplicate"}]
    assert receiver_of(app).drain(5)
    assert emit.events == ["zoom.recording.completed"]
    assert emit.calls[0]["id"] == event_id(first[0])


# ---- answering before emitting ------------------------------------------------------------------------
async def test_the_answer_does_not_wait_for_prefect() -> None:
    gate = threading.Event()
    emit = RecordingEmit(gate)
    app = create_receiver_app(SECRET, emit=emit)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
            raw, headers = signed(recording_completed())
            response = await client.post("/zoom/webhook", content=raw, headers=headers)
            assert response.status_code == 200
            # the answer is here while emit is still blocked on the gate
            assert emit.calls == []
            assert receiver_of(app).health()["pending"] == 1
            assert emit.started.wait(5)  # emit did start: it runs beside the answer, not after it
            assert emit.calls == []
            gate.set()
        assert receiver_of(app).drain(5)
        assert emit.events == ["zoom.recording.completed"]
        assert receiver_of(app).health()["pending"] == 0
    finally:
        gate.set()
        receiver_of(app).close()


async def test_a_full_queue_answers_503_so_zoom_retries() -> None:
    gate = threading.Event()
    emit = RecordingEmit(gate)
    app = create_receiver_app(SECRET, emit=emit, settings=ReceiverSettings(queue_size=1))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
            raw1, headers1 = signed(recording_completed("one"))
            raw2, headers2 = signed(recording_completed("two"))
            assert (await client.post("/", content=raw1, headers=headers1)).status_code == 200
            busy = await client.post("/", content=raw2, headers=headers2)
            assert busy.status_code == 503
            assert busy.headers["retry-after"]
            gate.set()
            assert receiver_of(app).drain(5)
            # not remembered as seen: Zoom's retry goes through
            assert (await client.post("/", content=raw2, headers=headers2)).status_code == 200
        assert receiver_of(app).drain(5)
        assert len(emit.calls) == 2
    finally:
        gate.set()
        receiver_of(app).close()


def test_the_secret_token_is_required_and_never_shown() -> None:
    with pytest.raises(ValueError):
        create_receiver_app("")
    receiver = WebhookReceiver(SECRET, emit=RecordingEmit())
    assert SECRET not in repr(receiver)
    assert SECRET not in json.dumps(receiver.health())


# ---- into Prefect ---------------------------------------------------------------------------------------
async def test_events_reach_the_prefect_api() -> None:
    """The real ``emit_event`` against the session's Prefect test harness, read back by name."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    meeting = f"meeting-{uuid.uuid4().hex}"
    app = create_receiver_app(SECRET)  # emit = prefect.events.emit_event
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        raw, headers = signed(recording_completed(meeting))
        assert (await client.post("/zoom/webhook", content=raw, headers=headers)).status_code == 200
    receiver_of(app).close()
    assert receiver_of(app).health()["emitted"] == 1

    event_filter = EventFilter(
        event=EventNameFilter(name=["zoom.recording.completed"]),
        resource=EventResourceFilter(id=[f"zoom.meeting.{meeting}"]),
    )
    deadline = time.monotonic() + 30
    async with get_client() as prefect:
        while True:  # emit_event sends in the background and the server stores events in
            # batches: poll until the event is readable
            page = await prefect.read_events(filter=event_filter, limit=10)
            if page.events or time.monotonic() > deadline:
                break
            await _pause()
    assert [e.event for e in page.events] == ["zoom.recording.completed"]
    event = page.events[0]
    assert event.resource.name == "Weekly sync"
    assert event.resource["zoom.account-id"] == "acct123"
    assert event.payload["download_token"] == "dlToken123"
    assert "password" not in event.payload["object"]
    assert [r.id for r in event.related] == ["zoom.account.acct123", "zoom.user.host42"]


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.2)


# ---- slow senders -----------------------------------------------------------------------------------------
def test_a_sender_that_trickles_its_body_is_cut_off() -> None:
    """Headers at once, then one byte every 0.2 s of a 1,000-byte body: the receiver answers 408
    once ``body_timeout`` has passed and hangs up, instead of holding the connection open."""
    emit = RecordingEmit()
    app = create_receiver_app(SECRET, emit=emit, settings=ReceiverSettings(body_timeout=1.0))
    _, headers = signed(recording_completed())
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"POST /zoom/webhook HTTP/1.1\r\nhost: receiver\r\ncontent-length: 1000\r\n{head}\r\n"
    try:
        with serve_in_thread(app) as base_url:
            port = int(base_url.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(request.encode())
                sock.settimeout(0.2)
                # The receiver answers 408 and hangs up: a FIN, or a reset when it closed with
                # trickled bytes unread, which may drop the answer before it is read (so the
                # reason is also read from the receiver's health below).
                answer, reset = b"", False
                end = time.monotonic() + 30
                while b"\r\n\r\n" not in answer and time.monotonic() < end:
                    with contextlib.suppress(OSError):
                        sock.sendall(b" ")  # the trickle
                    try:
                        answer += sock.recv(65536)
                    except TimeoutError:
                        continue
                    except ConnectionResetError:
                        reset = True
                        break
                assert reset or answer.startswith(b"HTTP/1.1 408"), answer[:200]
                sock.settimeout(30)  # a receiver that never hangs up fails the test here
                with contextlib.suppress(ConnectionResetError):
                    while sock.recv(65536):
                        pass
        assert emit.calls == []
        assert receiver_of(app).health()["rejected_by_reason"] == {"body_timeout": 1}
    finally:
        receiver_of(app).close()
