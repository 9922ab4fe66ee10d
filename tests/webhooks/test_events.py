"""The Zoom event -> Prefect event mapping and a delivery's identity, without any HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from helpers.webhooks import recording_completed
from prefect.events import Event

from prefect_zoom.webhooks.envelope import SECRET_KEYS, parse_envelope
from prefect_zoom.webhooks.events import (
    MAX_LABEL_CHARS,
    body_digest,
    checked_event,
    delivery_keys,
    event_id,
    prefect_event,
    resource_id,
)


def test_a_webinar_event_is_about_its_numeric_id_with_only_the_account_related() -> None:
    body: dict[str, Any] = {
        "event": "webinar.started",
        "event_ts": 1_700_000_000_000,
        "payload": {"account_id": "a9", "object": {"id": 987654321, "topic": "Launch"}},
    }
    fixed = uuid.uuid4()
    event = prefect_event(parse_envelope(body), prefect_id=fixed)
    assert event["event"] == "zoom.webinar.started" and event["id"] == fixed
    resource = event["resource"]
    assert resource["prefect.resource.id"] == "zoom.meeting.987654321"
    assert resource["zoom.meeting-id"] == "987654321" and "zoom.meeting-uuid" not in resource
    assert "zoom.host-id" not in resource and resource["prefect.resource.name"] == "Launch"
    account = {"prefect.resource.id": "zoom.account.a9", "prefect.resource.role": "account"}
    assert event["related"] == [account]
    assert event["occurred"] == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert event["payload"] == {**body["payload"], "event_ts": 1_700_000_000_000}
    assert checked_event(event) is event and Event(**event).id == fixed


def test_a_recording_event_keeps_its_download_token_and_loses_its_secrets() -> None:
    event = prefect_event(parse_envelope(recording_completed()))
    payload = event["payload"]
    assert payload["download_token"] == "dlToken123"
    assert "password" not in payload["object"] and "start_url" not in payload["object"]


def test_the_download_token_goes_when_it_is_stripped() -> None:
    envelope = parse_envelope(recording_completed())
    event = prefect_event(envelope, SECRET_KEYS | {"download_token"})
    assert "download_token" not in event["payload"]


def test_user_and_other_events_get_their_own_resources() -> None:
    user = parse_envelope(
        {
            "event": "user.updated",
            "event_ts": 1,
            "payload": {"account_id": "a1", "object": {"id": "u1", "email": "u@x.org"}},
        }
    )
    assert resource_id(user) == "zoom.user.u1"
    assert prefect_event(user)["resource"]["prefect.resource.name"] == "u@x.org"
    other = parse_envelope({"event": "app.deauthorized", "event_ts": 1, "payload": {}})
    assert resource_id(other) == "zoom.account.unknown"
    no_key = parse_envelope(
        {"event": "meeting.deleted", "event_ts": 1, "payload": {"account_id": "a1"}}
    )
    assert resource_id(no_key) == "zoom.account.a1"  # a meeting event without uuid or id
    assert prefect_event(no_key)["related"] == []  # the account is the resource itself


def test_labels_are_cut_to_a_bounded_length() -> None:
    body = recording_completed()
    body["payload"]["object"]["topic"] = "t" * (MAX_LABEL_CHARS * 4)
    event = prefect_event(parse_envelope(body))
    assert event["resource"]["prefect.resource.name"] == "t" * MAX_LABEL_CHARS


def test_a_delivery_is_known_by_its_body_and_zooms_ids() -> None:
    raw = b'{"event":"meeting.started"}'
    assert event_id(raw) == event_id(bytes(raw)) != event_id(raw + b" ")
    keys = delivery_keys({"x-zm-trackingid": "t" * 300, "x-zm-request-id": ""}, raw)
    assert keys == [f"body:{body_digest(raw)}", f"x-zm-trackingid:{'t' * 200}"]
