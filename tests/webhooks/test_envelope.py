"""The envelope: signature and content checks, strict JSON, Zoom's shape, secrets scrubbed.

Pure functions: each refusal carries the HTTP status the receiver answers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from helpers.webhooks import SECRET, recording_completed, signed

from prefect_zoom.exceptions import WebhookRejectedError
from prefect_zoom.webhooks.envelope import (
    MAX_DEPTH,
    URL_VALIDATION_EVENT,
    check_content_type,
    parse_envelope,
    parse_json,
    scrub,
    verify_delivery,
)


def refusal(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    """The (status, reason) a call refuses with."""
    with pytest.raises(WebhookRejectedError) as caught:
        call(*args, **kwargs)
    return caught.value.status, caught.value.reason


# ---- verification ------------------------------------------------------------------------------
def test_a_signed_delivery_passes_and_a_wrong_or_stale_one_is_401() -> None:
    raw, headers = signed(recording_completed())
    now = time.time()
    verify_delivery(SECRET, headers, raw, now=now)
    assert refusal(verify_delivery, "another secret", headers, raw, now=now) == (
        401,
        "bad_signature",
    )
    assert refusal(verify_delivery, SECRET, headers, raw + b" ", now=now)[0] == 401
    stale = now + 301
    assert refusal(verify_delivery, SECRET, headers, raw, now=stale)[0] == 401
    assert refusal(verify_delivery, SECRET, {}, raw, now=now)[0] == 401


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/vnd.zoom+json", True),
        ("text/plain", False),
        ("", False),
    ],
)
def test_only_json_bodies_are_read(content_type: str, ok: bool) -> None:
    headers = {"content-type": content_type} if content_type else {}
    if ok:
        check_content_type(headers)
    else:
        assert refusal(check_content_type, headers) == (415, "unsupported_media_type")


# ---- parsing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b'{"a": NaN}', b"[Infinity]", b"1" * 5000])
def test_what_is_not_strict_utf8_json_is_400(raw: bytes) -> None:
    assert refusal(parse_json, raw) == (400, "malformed_json")


def test_a_zoom_envelope_is_read_with_its_object_and_download_token() -> None:
    envelope = parse_envelope(recording_completed("u/1==", event_ts=1_700_000_000_000))
    assert envelope.event == "recording.completed" and envelope.event_ts == 1_700_000_000_000
    assert envelope.account_id == "acct123" and envelope.object_key() == "u/1=="
    assert envelope.download_token == "dlToken123"
    numeric = parse_envelope(
        {"event": "meeting.started", "event_ts": 1, "payload": {"object": {"id": 81234}}}
    )
    assert numeric.object_key() == "81234" and numeric.account_id is None


def test_the_challenge_needs_only_a_short_plain_token() -> None:
    body = {"event": URL_VALIDATION_EVENT, "payload": {"plainToken": "abc"}}
    assert parse_envelope(body).event_ts is None
    too_long = {"event": URL_VALIDATION_EVENT, "payload": {"plainToken": "x" * 257}}
    assert refusal(parse_envelope, too_long) == (422, "invalid_envelope")


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"event": "nodots", "event_ts": 1, "payload": {}},
        {"event": "a.b", "event_ts": 1, "payload": []},
        {"event": "a.b", "event_ts": True, "payload": {}},
        {"event": "a.b", "event_ts": 0, "payload": {}},
        {"event": "a.b", "event_ts": 10**14, "payload": {}},
        {"event": "a.b", "event_ts": 1, "payload": {"account_id": 5}},
        {"event": "a.b", "event_ts": 1, "payload": {"object": "x"}},
        {"event": "a.b", "event_ts": 1, "payload": {}, "download_token": 7},
    ],
)
def test_what_is_not_shaped_like_zooms_envelope_is_422(body: Any) -> None:
    assert refusal(parse_envelope, body) == (422, "invalid_envelope")


# ---- secrets -----------------------------------------------------------------------------------
def test_scrub_handles_urls_and_nesting() -> None:
    value = {
        "a": [{"password": "x", "keep": "https://z/j/1?pwd=abc"}],
        "b": "https://z/j/1?x=1&pwd=abc",
        "c": "https://z/j/1?x=1&pwd=abc&y=2",
        "plainToken": "p",
    }
    assert scrub(value) == {
        "a": [{"keep": "https://z/j/1"}],
        "b": "https://z/j/1?x=1",
        "c": "https://z/j/1?x=1&y=2",
    }


def test_scrub_refuses_what_prefect_could_not_store() -> None:
    deep: Any = "leaf"
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    assert refusal(scrub, deep) == (422, "too_deep")
    assert refusal(scrub, {"k": "\ud800"}) == (422, "invalid_text")
    assert refusal(scrub, {"k": float("nan")}) == (422, "invalid_number")
    assert scrub({"download_token": "t"}, frozenset({"download_token"})) == {}
