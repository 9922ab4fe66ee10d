"""Property tests: forged, truncated, replayed and malformed deliveries never get through.

Every request goes in-process to the receiver app (``httpx.ASGITransport``). For each kind of bad
delivery: the answer is a 4xx (never a 2xx that emits, never a 5xx), nothing is emitted, and a
valid delivery sent afterwards is still accepted and emitted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from helpers.webhooks import SECRET, RecordingEmit, recording_completed, signed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefect_zoom.webhooks import create_receiver_app
from prefect_zoom.webhooks.receiver import ReceiverSettings, WebhookReceiver

NOW = 1_700_000_000
TOLERANCE = 300
EXAMPLES = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_serial = itertools.count()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


class Harness:
    """One receiver (fixed clock), a loop and a client to post to it synchronously."""

    def __init__(self) -> None:
        self.emit = RecordingEmit()
        fixed_clock = ReceiverSettings(clock=lambda: float(NOW), tolerance_seconds=TOLERANCE)
        self.app: FastAPI = create_receiver_app(SECRET, emit=self.emit, settings=fixed_clock)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://receiver"
        )

    @property
    def receiver(self) -> WebhookReceiver:
        receiver: WebhookReceiver = self.app.state.receiver
        return receiver

    def post(self, raw: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.loop.run_until_complete(
            self.client.post("/zoom/webhook", content=raw, headers=headers)
        )

    def emitted(self) -> int:
        assert self.receiver.drain(10)
        return len(self.emit.calls)

    def assert_refused(self, response: httpx.Response) -> None:
        assert 400 <= response.status_code < 500, (response.status_code, response.text)

    def assert_still_works(self) -> None:
        """A valid delivery is accepted and emitted after whatever came before."""
        before = self.emitted()
        raw, headers = signed(valid_envelope(), timestamp=NOW)
        response = self.post(raw, headers)
        assert response.status_code == 200
        assert response.json() == {"status": "accepted"}
        assert self.emitted() == before + 1

    def assert_none_emitted_and_still_works(self) -> None:
        """Nothing came through, and the receiver still takes a valid delivery."""
        assert self.emitted() == 0
        self.assert_still_works()

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()
        self.receiver.close()


@pytest.fixture
def harness() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


def valid_envelope(topic: str = "Weekly sync") -> dict[str, Any]:
    """A valid ``recording.completed`` never sent before (a fresh uuid and event_ts)."""
    serial = next(_serial)
    envelope = recording_completed(f"uuid-{serial}", event_ts=NOW * 1000 + serial)
    envelope["payload"]["object"]["topic"] = topic
    return envelope


# ---- forged -----------------------------------------------------------------------------------------
def test_forged_signatures_are_refused(harness: Harness) -> None:
    @EXAMPLES
    @given(
        signature=st.one_of(
            header_text,
            st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "v0=" + h),
        ),
        topic=st.text(max_size=40),
    )
    def forged(signature: str, topic: str) -> None:
        raw, headers = signed(valid_envelope(topic), timestamp=NOW)
        response = harness.post(raw, {**headers, "x-zm-signature": signature})
        harness.assert_refused(response)

    forged()
    assert harness.emitted() == 0
    assert harness.receiver.health()["accepted"] == 0
    harness.assert_still_works()


def test_random_timestamp_and_signature_headers_are_refused(harness: Harness) -> None:
    @EXAMPLES
    @given(timestamp=header_text, signature=header_text)
    def random_headers(timestamp: str, signature: str) -> None:
        raw = json.dumps(valid_envelope()).encode()
        headers = {
            "content-type": "application/json",
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": signature,
        }
        harness.assert_refused(harness.post(raw, headers))

    random_headers()
    harness.assert_none_emitted_and_still_works()


# ---- truncated ----------------------------------------------------------------------------------------
def test_bodies_cut_after_signing_are_refused(harness: Harness) -> None:
    @EXAMPLES
    @given(data=st.data(), topic=st.text(max_size=40))
    def truncated(data: st.DataObject, topic: str) -> None:
        raw, headers = signed(valid_envelope(topic), timestamp=NOW)
        cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="cut")
        harness.assert_refused(harness.post(raw[:cut], headers))

    truncated()
    harness.assert_none_emitted_and_still_works()


# ---- replayed -----------------------------------------------------------------------------------------
def test_replayed_deliveries_are_emitted_once(harness: Harness) -> None:
    @EXAMPLES
    @given(topic=st.text(max_size=40), replays=st.integers(min_value=1, max_value=3))
    def replayed(topic: str, replays: int) -> None:
        before = harness.emitted()
        raw, headers = signed(valid_envelope(topic), timestamp=NOW)
        assert harness.post(raw, headers).json() == {"status": "accepted"}
        for _ in range(replays):
            again = harness.post(raw, headers)
            assert again.status_code == 200
            assert again.json() == {"status": "duplicate"}
        assert harness.emitted() == before + 1

    replayed()
    harness.assert_still_works()


def test_old_and_future_timestamps_are_refused_even_when_signed(harness: Harness) -> None:
    @EXAMPLES
    @given(
        offset=st.integers(min_value=TOLERANCE + 1, max_value=NOW),
        future=st.booleans(),
        topic=st.text(max_size=40),
    )
    def replayed_late(offset: int, future: bool, topic: str) -> None:
        timestamp = NOW + offset if future else NOW - offset
        raw, headers = signed(valid_envelope(topic), timestamp=timestamp)
        response = harness.post(raw, headers)
        assert response.status_code == 401
        assert response.json()["error"] == ("future_timestamp" if future else "stale_timestamp")

    replayed_late()
    harness.assert_none_emitted_and_still_works()


# ---- malformed ----------------------------------------------------------------------------------------
def test_random_bytes_are_refused_signed_or_not(harness: Harness) -> None:
    @EXAMPLES
    @given(body=st.binary(max_size=2000), sign_it=st.booleans())
    def random_bytes(body: bytes, sign_it: bool) -> None:
        raw, headers = signed(body, timestamp=NOW)
        if not sign_it:
            headers["x-zm-signature"] = "v0=" + "0" * 64
        harness.assert_refused(harness.post(raw, headers))

    random_bytes()
    harness.assert_none_emitted_and_still_works()


def test_random_json_is_refused(harness: Harness) -> None:
    @EXAMPLES
    @given(body=json_values, content_type=st.sampled_from(["application/json", "text/plain", ""]))
    def random_json(body: Any, content_type: str) -> None:
        raw, headers = signed(json.dumps(body).encode(), timestamp=NOW, content_type=content_type)
        harness.assert_refused(harness.post(raw, headers))

    random_json()
    harness.assert_none_emitted_and_still_works()


WRONG_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "event": st.one_of(st.none(), st.integers(), st.lists(st.text()), st.text(max_size=3)),
    "event_ts": st.one_of(
        st.none(),
        st.booleans(),
        st.text(),
        st.floats(),
        st.integers(max_value=0),
        st.integers(min_value=10**14),
    ),
    "payload": st.one_of(st.none(), st.integers(), st.text(), st.lists(json_values)),
    "object": st.one_of(st.integers(), st.text(), st.lists(json_values), st.booleans()),
    "account_id": st.one_of(st.integers(), st.lists(st.text()), st.booleans()),
    "download_token": st.one_of(st.integers(), st.lists(st.text()), st.booleans()),
}


def test_wrong_types_in_the_envelope_are_refused(harness: Harness) -> None:
    @EXAMPLES
    @given(data=st.data(), field=st.sampled_from(sorted(WRONG_TYPES)))
    def wrong_types(data: st.DataObject, field: str) -> None:
        envelope = valid_envelope()
        value = data.draw(WRONG_TYPES[field], label=field)
        if field in ("object", "account_id"):
            envelope["payload"][field] = value
        else:
            envelope[field] = value
        raw, headers = signed(json.dumps(envelope).encode(), timestamp=NOW)
        response = harness.post(raw, headers)
        assert response.status_code in (400, 422), (response.status_code, response.text)

    wrong_types()
    harness.assert_none_emitted_and_still_works()


def test_valid_deliveries_with_any_content_are_accepted(harness: Harness) -> None:
    """The other side: whatever a signed, well-typed envelope holds, it is accepted, no 5xx."""

    @EXAMPLES
    @given(extra=st.dictionaries(st.text(max_size=10), json_values, max_size=4))
    def any_content(extra: dict[str, Any]) -> None:
        envelope = valid_envelope()
        envelope["payload"]["object"].update(extra)
        raw, headers = signed(envelope, timestamp=NOW)
        response = harness.post(raw, headers)
        assert response.status_code == 200, response.text

    any_content()
    assert harness.receiver.health()["emit_failed"] == 0
    harness.assert_still_works()
