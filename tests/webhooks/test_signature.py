"""Zoom's webhook signature: the HMAC formula, the timestamp window, the challenge answer."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from helpers.webhooks import SECRET

from prefect_zoom.webhooks import (
    BadSignatureError,
    FutureTimestampError,
    InvalidTimestampError,
    MissingHeaderError,
    StaleTimestampError,
    sign,
    url_validation_answer,
    verify,
)


def test_sign_matches_zooms_formula() -> None:
    body = b'{"event":"meeting.created"}'
    expected = hmac.new(SECRET.encode(), b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1700000000, body) == f"v0={expected}"


def test_verify_accepts_five_minutes_either_way_and_no_more() -> None:
    body = b"{}"
    for offset in (-300, 0, 300):
        verify(SECRET, "1700000000", sign(SECRET, 1700000000, body), body, now=1700000000 + offset)
    with pytest.raises(StaleTimestampError):
        verify(SECRET, "1700000000", sign(SECRET, 1700000000, body), body, now=1700000301)
    with pytest.raises(FutureTimestampError):
        verify(SECRET, "1700000000", sign(SECRET, 1700000000, body), body, now=1699999699)


@pytest.mark.parametrize(
    ("timestamp", "signature", "error"),
    [
        (None, "v0=abc", MissingHeaderError),
        ("1700000000", None, MissingHeaderError),
        ("", "", MissingHeaderError),
        ("1700000000.5", "v0=abc", InvalidTimestampError),
        ("-1700000000", "v0=abc", InvalidTimestampError),
        ("1700000000000", "v0=abc", InvalidTimestampError),  # milliseconds, not seconds
        ("1700000000", "v0=" + "0" * 64, BadSignatureError),
        ("1700000000", "v1=whatever", BadSignatureError),
    ],
)
def test_verify_names_what_is_wrong(
    timestamp: str | None, signature: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        verify(SECRET, timestamp, signature, b"{}", now=1700000000)


def test_url_validation_answer() -> None:
    answer = url_validation_answer(SECRET, "plain")
    assert answer == {
        "plainToken": "plain",
        "encryptedToken": hmac.new(SECRET.encode(), b"plain", hashlib.sha256).hexdigest(),
    }
