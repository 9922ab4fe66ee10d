"""Cloud recordings and downloads in the emulator, over real HTTP, checked against Zoom's spec."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from helpers.zoom_spec import assert_matches_spec

from emulator.conftest import mint_token
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator
from zoom_emulator.models import content
from zoom_emulator.models.downloads import sign

USER_RECORDINGS = "/users/{userId}/recordings"
MEETING_RECORDINGS = "/meetings/{meetingId}/recordings"
RECORDING_FILE = "/meetings/{meetingId}/recordings/{recordingId}"
RECOVER_MEETING = "/meetings/{meetingUUID}/recordings/status"
RECOVER_FILE = "/meetings/{meetingId}/recordings/{recordingId}/status"
SLASHY_UUIDS = ["/ajXp112QmuoKj4854875==", "ab//cdXp112QmuoKj4854=="]


# ---- helpers -------------------------------------------------------------------------------------
def today() -> date:
    return datetime.now(UTC).date()


def yesterday() -> str:
    return (today() - timedelta(days=1)).isoformat()


def encode_uuid(uuid: str) -> str:
    """Zoom's rule: always encode a UUID; encode it twice when it starts with / or holds //."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def add_recording(emulator: ZoomEmulator, **fields: Any) -> dict[str, Any]:
    """Seed one recorded meeting through the control surface; returns its uuid, id and files."""
    response = httpx.post(f"{emulator.base_url}/_emulator/recordings", json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def list_mine(emulator: ZoomEmulator, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    params.setdefault("from", yesterday())
    response = httpx.get(f"{emulator.api_url}/users/me/recordings", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = assert_matches_spec(response, "GET", USER_RECORDINGS)
    return body


def get_meeting(
    emulator: ZoomEmulator, headers: dict[str, str], ref: str, **params: Any
) -> httpx.Response:
    return httpx.get(
        f"{emulator.api_url}/meetings/{ref}/recordings", headers=headers, params=params
    )


def first_meeting(emulator: ZoomEmulator, headers: dict[str, str]) -> dict[str, Any]:
    meeting: dict[str, Any] = list_mine(emulator, headers)["meetings"][0]
    return meeting


# ---- listing -------------------------------------------------------------------------------------
def test_list_my_recordings_in_an_explicit_range(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    body = list_mine(zoom_emulator, auth_headers, to=today().isoformat())
    assert body["from"] == yesterday()
    assert body["to"] == today().isoformat()
    assert body["total_records"] == zoom_emulator.config.recordings_per_user == 2
    assert body["next_page_token"] == ""
    starts = [m["start_time"] for m in body["meetings"]]
    assert starts == sorted(starts, reverse=True)  # newest first
    owner = zoom_emulator.state.owner()
    for meeting in body["meetings"]:
        assert meeting["host_id"] == owner.id
        assert meeting["account_id"] == zoom_emulator.config.account_id
        assert meeting["recording_count"] == len(meeting["recording_files"]) == 4
        assert meeting["total_size"] == sum(f["file_size"] for f in meeting["recording_files"])
        for file in meeting["recording_files"]:
            assert file["meeting_id"] == meeting["uuid"]
            assert file["download_url"] == f"{zoom_emulator.base_url}/rec/download/{file['id']}"
            assert file["status"] == "completed"
    mp4 = body["meetings"][0]["recording_files"][0]
    assert (mp4["file_type"], mp4["file_size"]) == ("MP4", zoom_emulator.config.recording_bytes)


def test_full_date_times_count_as_their_utc_day(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    body = list_mine(zoom_emulator, auth_headers, **{"from": f"{yesterday()}T00:00:00Z"})
    assert (body["from"], body["total_records"]) == (yesterday(), 2)


@pytest.mark.parametrize("who", ["id", "email"])
def test_list_by_user_id_or_email(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str], who: str
) -> None:
    owner = zoom_emulator.state.owner()
    user_id = owner.id if who == "id" else owner.email
    response = httpx.get(
        f"{zoom_emulator.api_url}/users/{user_id}/recordings",
        headers=auth_headers,
        params={"from": yesterday()},
    )
    assert response.status_code == 200
    assert assert_matches_spec(response, "GET", USER_RECORDINGS)["total_records"] == 2


def test_default_range_is_today_only(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    todays = add_recording(zoom_emulator, topic="Today", start_time=now.isoformat())
    response = httpx.get(f"{zoom_emulator.api_url}/users/me/recordings", headers=auth_headers)
    body = assert_matches_spec(response, "GET", USER_RECORDINGS)
    assert body["from"] == today().isoformat()
    assert body["to"] == (today() + timedelta(days=1)).isoformat()
    assert [m["uuid"] for m in body["meetings"]] == [todays["uuid"]]  # not yesterday's
    assert len(list_mine(zoom_emulator, auth_headers)["meetings"]) == 3


def test_a_range_may_span_one_calendar_month(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    add_recording(zoom_emulator, topic="Leap day", start_time="2024-02-29T10:00:00Z")
    body = list_mine(zoom_emulator, auth_headers, **{"from": "2024-01-31", "to": "2024-02-29"})
    assert [m["topic"] for m in body["meetings"]] == ["Leap day"]


@pytest.mark.parametrize(
    ("start", "end"), [("2024-01-01", "2024-02-02"), ("2024-01-31", "2024-03-01")]
)
def test_a_range_longer_than_a_month_is_refused(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str], start: str, end: str
) -> None:
    response = httpx.get(
        f"{zoom_emulator.api_url}/users/me/recordings",
        headers=auth_headers,
        params={"from": start, "to": end},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 300
    assert "exceeds one month" in body["message"]


def test_an_old_from_without_to_exceeds_a_month(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    old = (today() - timedelta(days=62)).isoformat()
    response = httpx.get(
        f"{zoom_emulator.api_url}/users/me/recordings", headers=auth_headers, params={"from": old}
    )
    assert (response.status_code, response.json()["code"]) == (400, 300)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2024-02-10", "to": "2024-02-01"}, "to"),
        ({"from": "2024-02-30"}, "from"),
        ({"from": "10/02/2024"}, "from"),
        ({"to": "tomorrow"}, "to"),
        ({"from": "2024-02-10T25:00:00Z"}, "from"),
        ({"page_size": "many"}, "page_size"),
        ({"page_size": 301}, "page_size"),
        ({"trash_type": "everything", "trash": "true"}, "trash_type"),
    ],
)
def test_bad_list_parameters_fail_validation(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = httpx.get(
        f"{zoom_emulator.api_url}/users/me/recordings", headers=auth_headers, params=params
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["message"]) == (300, "Validation Failed.")
    assert field in [error["field"] for error in body["errors"]]


def test_unknown_user_is_404_1001(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    response = httpx.get(
        f"{zoom_emulator.api_url}/users/nobody@example.com/recordings", headers=auth_headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == 1001


def test_a_user_token_cannot_list_another_users_recordings(
    zoom_emulator: ZoomEmulator,
) -> None:
    other = httpx.post(
        f"{zoom_emulator.base_url}/_emulator/users", json={"email": "other@example.com"}
    ).json()
    add_recording(zoom_emulator, user=other["id"], topic="Not yours")
    user_token = mint_token(zoom_emulator, ["recording:read"], kind="oauth")
    headers = {"Authorization": f"Bearer {user_token}"}
    refused = httpx.get(f"{zoom_emulator.api_url}/users/{other['id']}/recordings", headers=headers)
    assert refused.status_code == 400
    assert refused.json() == {"code": 200, "message": "No permission."}
    assert list_mine(zoom_emulator, headers)["total_records"] == 2  # own recordings are fine
    admin = {"Authorization": f"Bearer {mint_token(zoom_emulator, ['recording:read:admin'])}"}
    response = httpx.get(
        f"{zoom_emulator.api_url}/users/other@example.com/recordings",
        headers=admin,
        params={"from": yesterday()},
    )
    assert [m["topic"] for m in response.json()["meetings"]] == ["Not yours"]


def test_pagination_walks_every_recording_once(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    for number in range(3):
        add_recording(zoom_emulator, topic=f"Extra {number}")
    seen: list[str] = []
    token = ""
    for _ in range(10):
        body = list_mine(zoom_emulator, auth_headers, page_size=1, next_page_token=token)
        assert body["page_size"] == 1
        assert body["total_records"] == 5
        assert len(body["meetings"]) == 1
        seen.append(body["meetings"][0]["uuid"])
        token = body["next_page_token"]
        if not token:
            break
    assert len(seen) == len(set(seen)) == 5
    other_listing = httpx.get(
        f"{zoom_emulator.api_url}/users/me/recordings",
        headers=auth_headers,
        params={"from": yesterday(), "trash": "true", "next_page_token": "nonsense"},
    )
    assert (other_listing.status_code, other_listing.json()["code"]) == (400, 300)


def test_filter_by_meeting_id(zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]) -> None:
    meeting = first_meeting(zoom_emulator, auth_headers)
    body = list_mine(zoom_emulator, auth_headers, meeting_id=meeting["id"], mc="false")
    assert [m["uuid"] for m in body["meetings"]] == [meeting["uuid"]]


def test_account_recordings_cover_every_user(zoom_emulator: ZoomEmulator) -> None:
    other = httpx.post(
        f"{zoom_emulator.base_url}/_emulator/users", json={"email": "second@example.com"}
    ).json()
    add_recording(zoom_emulator, user=other["id"], topic="Second user's")
    admin = {"Authorization": f"Bearer {mint_token(zoom_emulator)}"}
    for account in ("me", zoom_emulator.config.account_id):
        response = httpx.get(
            f"{zoom_emulator.api_url}/accounts/{account}/recordings",
            headers=admin,
            params={"from": yesterday()},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total_records"] == 3
        assert {m["host_email"] for m in body["meetings"]} == {
            zoom_emulator.config.user_email,
            "second@example.com",
        }
    user_level = {"Authorization": f"Bearer {mint_token(zoom_emulator, ['recording:read'])}"}
    refused = httpx.get(f"{zoom_emulator.api_url}/accounts/me/recordings", headers=user_level)
    assert (refused.status_code, refused.json()["code"]) == (400, 4711)
    foreign = httpx.get(f"{zoom_emulator.api_url}/accounts/otherAccount/recordings", headers=admin)
    assert (foreign.status_code, foreign.json()["code"]) == (400, 200)


# ---- one meeting's recordings ----------------------------------------------------------------
def test_get_meeting_recordings_by_uuid_and_by_number(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    meeting = first_meeting(zoom_emulator, auth_headers)
    by_uuid = get_meeting(zoom_emulator, auth_headers, encode_uuid(meeting["uuid"]))
    assert by_uuid.status_code == 200, by_uuid.text
    body = assert_matches_spec(by_uuid, "GET", MEETING_RECORDINGS)
    assert body["uuid"] == meeting["uuid"]
    assert body["recording_files"] == meeting["recording_files"]
    assert "download_access_token" not in body
    by_number = get_meeting(zoom_emulator, auth_headers, str(meeting["id"]))
    assert assert_matches_spec(by_number, "GET", MEETING_RECORDINGS)["uuid"] == meeting["uuid"]


def test_a_meeting_number_means_its_latest_instance(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    state = zoom_emulator.state
    meeting = first_meeting(zoom_emulator, auth_headers)
    later = add_recording(zoom_emulator, topic="Later instance")
    state.recordings[later["uuid"]].meeting_id = meeting["id"]  # a second instance
    response = get_meeting(zoom_emulator, auth_headers, str(meeting["id"]))
    assert response.json()["uuid"] == later["uuid"]


@pytest.mark.parametrize("uuid", SLASHY_UUIDS)
def test_uuids_with_slashes_need_double_encoding(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str], uuid: str
) -> None:
    add_recording(zoom_emulator, uuid=uuid, topic="Slashy")
    double = get_meeting(zoom_emulator, auth_headers, quote(quote(uuid, safe=""), safe=""))
    assert double.status_code == 200, double.text
    assert assert_matches_spec(double, "GET", MEETING_RECORDINGS)["uuid"] == uuid
    single = get_meeting(zoom_emulator, auth_headers, quote(uuid, safe=""))
    assert single.status_code == 404
    assert single.json() == {"code": 3301, "message": "This recording does not exist."}


def test_plain_uuids_work_encoded_once_or_twice(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    for uuid in ("Ab+cd/Ef1234567890ghIJ==", "PlainUuid1234567890abc=="):
        add_recording(zoom_emulator, uuid=uuid)
        once = quote(uuid, safe="")
        for ref in (once, quote(once, safe="")):
            response = get_meeting(zoom_emulator, auth_headers, ref)
            assert response.status_code == 200, (ref, response.text)
            assert response.json()["uuid"] == uuid


def test_unknown_meeting_is_3301(zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]) -> None:
    for ref in ("123456789", quote("NoSuchUuid0000000000aa==", safe="")):
        response = get_meeting(zoom_emulator, auth_headers, ref)
        assert response.status_code == 404
        assert response.json()["code"] == 3301


def test_download_access_token_downloads_that_meetings_files(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    meeting = first_meeting(zoom_emulator, auth_headers)
    response = get_meeting(
        zoom_emulator,
        auth_headers,
        encode_uuid(meeting["uuid"]),
        include_fields="download_access_token",
        ttl=60,
    )
    body = assert_matches_spec(response, "GET", MEETING_RECORDINGS)
    download_token = body["download_access_token"]
    chat = body["recording_files"][-1]
    with_token = {"Authorization": f"Bearer {download_token}"}
    downloaded = httpx.get(chat["download_url"], headers=with_token, follow_redirects=True)
    assert downloaded.status_code == 200
    assert downloaded.content == content.read_bytes(chat["id"], 0, chat["file_size"])
    # it is no REST API token, and it opens no other meeting's files
    assert httpx.get(f"{zoom_emulator.api_url}/users/me", headers=with_token).status_code == 401
    other = list_mine(zoom_emulator, auth_headers)["meetings"][1]["recording_files"][0]
    assert httpx.get(other["download_url"], headers=with_token).status_code == 401


# ---- trash, recover, delete ----------------------------------------------------------------------
def test_trash_recover_and_delete_a_meetings_recordings(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    api = zoom_emulator.api_url
    meeting = first_meeting(zoom_emulator, auth_headers)
    ref = encode_uuid(meeting["uuid"])
    file = meeting["recording_files"][0]

    trashed = httpx.delete(f"{api}/meetings/{ref}/recordings", headers=auth_headers)
    assert trashed.status_code == 204
    assert_matches_spec(trashed, "DELETE", MEETING_RECORDINGS)
    assert meeting["uuid"] not in [
        m["uuid"] for m in list_mine(zoom_emulator, auth_headers)["meetings"]
    ]
    in_trash = list_mine(zoom_emulator, auth_headers, trash="true")["meetings"]
    assert [m["uuid"] for m in in_trash] == [meeting["uuid"]]
    assert all(f["deleted_time"] for f in in_trash[0]["recording_files"])
    assert get_meeting(zoom_emulator, auth_headers, ref).status_code == 404
    assert httpx.get(file["download_url"], headers=auth_headers).status_code == 404

    recovered = httpx.put(
        f"{api}/meetings/{ref}/recordings/status", headers=auth_headers, json={"action": "recover"}
    )
    assert recovered.status_code == 204
    assert_matches_spec(recovered, "PUT", RECOVER_MEETING)
    assert list_mine(zoom_emulator, auth_headers, trash="true")["meetings"] == []
    assert get_meeting(zoom_emulator, auth_headers, ref).status_code == 200
    again = httpx.put(
        f"{api}/meetings/{ref}/recordings/status", headers=auth_headers, json={"action": "recover"}
    )
    assert (again.status_code, again.json()["code"]) == (404, 3301)

    deleted = httpx.delete(
        f"{api}/meetings/{ref}/recordings", headers=auth_headers, params={"action": "delete"}
    )
    assert deleted.status_code == 204
    assert list_mine(zoom_emulator, auth_headers)["total_records"] == 1
    assert list_mine(zoom_emulator, auth_headers, trash="true")["total_records"] == 0
    assert httpx.get(file["download_url"], headers=auth_headers).status_code == 404
    gone = httpx.put(
        f"{api}/meetings/{ref}/recordings/status", headers=auth_headers, json={"action": "recover"}
    )
    assert gone.status_code == 404
    assert meeting["uuid"] not in zoom_emulator.state.recordings


def test_trash_recover_and_delete_one_file(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    api = zoom_emulator.api_url
    meeting = first_meeting(zoom_emulator, auth_headers)
    ref = encode_uuid(meeting["uuid"])
    mp4, m4a = meeting["recording_files"][0], meeting["recording_files"][1]

    trashed = httpx.delete(f"{api}/meetings/{ref}/recordings/{mp4['id']}", headers=auth_headers)
    assert trashed.status_code == 204
    assert_matches_spec(trashed, "DELETE", RECORDING_FILE)
    listed = get_meeting(zoom_emulator, auth_headers, ref).json()
    assert mp4["id"] not in [f["id"] for f in listed["recording_files"]]
    assert listed["recording_count"] == 3
    files_in_trash = list_mine(
        zoom_emulator, auth_headers, trash="true", trash_type="recording_file"
    )
    assert [f["id"] for f in files_in_trash["meetings"][0]["recording_files"]] == [mp4["id"]]
    meetings_in_trash = list_mine(zoom_emulator, auth_headers, trash="true")
    assert meetings_in_trash["meetings"] == []  # the meeting itself is not in the trash

    recovered = httpx.put(
        f"{api}/meetings/{ref}/recordings/{mp4['id']}/status",
        headers=auth_headers,
        json={"action": "recover"},
    )
    assert recovered.status_code == 204
    assert_matches_spec(recovered, "PUT", RECOVER_FILE)
    assert get_meeting(zoom_emulator, auth_headers, ref).json()["recording_count"] == 4

    deleted = httpx.delete(
        f"{api}/meetings/{ref}/recordings/{m4a['id']}",
        headers=auth_headers,
        params={"action": "delete"},
    )
    assert deleted.status_code == 204
    assert get_meeting(zoom_emulator, auth_headers, ref).json()["recording_count"] == 3
    assert httpx.get(m4a["download_url"], headers=auth_headers).status_code == 404
    unknown = httpx.delete(f"{api}/meetings/{ref}/recordings/nope", headers=auth_headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, 3301)


def test_recover_one_file_of_a_trashed_meeting(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    api = zoom_emulator.api_url
    meeting = first_meeting(zoom_emulator, auth_headers)
    ref = str(meeting["id"])
    chat = meeting["recording_files"][-1]
    assert httpx.delete(f"{api}/meetings/{ref}/recordings", headers=auth_headers).status_code == 204
    recovered = httpx.put(
        f"{api}/meetings/{encode_uuid(meeting['uuid'])}/recordings/{chat['id']}/status",
        headers=auth_headers,
        json={"action": "recover"},
    )
    assert recovered.status_code == 204
    back = get_meeting(zoom_emulator, auth_headers, ref).json()
    assert [f["id"] for f in back["recording_files"]] == [chat["id"]]
    trash = list_mine(zoom_emulator, auth_headers, trash="true", trash_type="recording_file")
    assert len(trash["meetings"][0]["recording_files"]) == 3


@pytest.mark.parametrize(
    "call",
    [
        ("DELETE", "/recordings", {"params": {"action": "shred"}}),
        ("PUT", "/recordings/status", {"json": {"action": "undelete"}}),
        ("PUT", "/recordings/status", {"content": b"not json"}),
    ],
)
def test_bad_trash_calls_fail_validation(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str], call: tuple[str, str, dict[str, Any]]
) -> None:
    method, suffix, options = call
    meeting = first_meeting(zoom_emulator, auth_headers)
    response = httpx.request(
        method,
        f"{zoom_emulator.api_url}/meetings/{meeting['id']}{suffix}",
        headers=auth_headers,
        **options,
    )
    assert response.status_code == 400
    assert response.json()["code"] == 300


def test_a_user_token_cannot_trash_another_users_recording(zoom_emulator: ZoomEmulator) -> None:
    other = httpx.post(
        f"{zoom_emulator.base_url}/_emulator/users", json={"email": "third@example.com"}
    ).json()
    theirs = add_recording(zoom_emulator, user=other["id"])
    headers = {"Authorization": f"Bearer {mint_token(zoom_emulator, ['recording:write'])}"}
    response = httpx.delete(
        f"{zoom_emulator.api_url}/meetings/{theirs['id']}/recordings", headers=headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == 200
    assert not zoom_emulator.state.recordings[theirs["uuid"]].deleted


# ---- downloads -----------------------------------------------------------------------------------
def test_download_redirects_then_serves_the_exact_bytes(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    file = first_meeting(zoom_emulator, auth_headers)["recording_files"][1]  # M4A
    first = httpx.get(file["download_url"], headers=auth_headers)
    assert first.status_code == 302
    location = first.headers["location"]
    assert urlsplit(location).path == f"/rec/files/{file['id']}"
    assert "sig=" in location

    response = httpx.get(file["download_url"], headers=auth_headers, follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mp4"
    assert int(response.headers["content-length"]) == file["file_size"]
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"]
    assert response.content == content.read_bytes(file["id"], 0, file["file_size"])
    digest = hashlib.sha256(response.content).hexdigest()
    assert digest == content.sha256(file["id"], file["file_size"])
    counters = zoom_emulator.state.counters
    assert counters["downloads"] == 1
    assert counters["download bytes"] == file["file_size"]

    # the signed address needs no Authorization, like Zoom's CDN
    assert httpx.get(location).content == response.content


def test_head_and_ranges(zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]) -> None:
    file = first_meeting(zoom_emulator, auth_headers)["recording_files"][0]  # MP4, 1 MB
    size, file_id = file["file_size"], file["id"]
    location = httpx.get(file["download_url"], headers=auth_headers).headers["location"]

    head = httpx.head(location)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == size
    assert head.content == b""
    etag = head.headers["etag"]

    middle = httpx.get(location, headers={"Range": "bytes=70000-200000"})
    assert middle.status_code == 206
    assert middle.headers["content-range"] == f"bytes 70000-200000/{size}"
    assert middle.content == content.read_bytes(file_id, 70_000, 200_001)

    tail = httpx.get(location, headers={"Range": f"bytes={size - 10}-"})
    assert (tail.status_code, tail.content) == (206, content.read_bytes(file_id, size - 10, size))
    suffix = httpx.get(location, headers={"Range": "bytes=-5"})
    assert suffix.content == content.read_bytes(file_id, size - 5, size)
    clamped = httpx.get(location, headers={"Range": f"bytes={size - 3}-{size + 100}"})
    assert clamped.headers["content-range"] == f"bytes {size - 3}-{size - 1}/{size}"

    beyond = httpx.get(location, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"

    resumed = httpx.get(location, headers={"Range": "bytes=100-", "If-Range": etag})
    assert resumed.status_code == 206
    changed = httpx.get(location, headers={"Range": "bytes=100-", "If-Range": '"other"'})
    assert changed.status_code == 200
    assert len(changed.content) == size
    ignored = httpx.get(location, headers={"Range": "bytes=0-1,5-9"})  # multi-range: whole file
    assert (ignored.status_code, len(ignored.content)) == (200, size)


def test_bad_or_expired_signatures_are_403(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    file = first_meeting(zoom_emulator, auth_headers)["recording_files"][0]
    location = httpx.get(file["download_url"], headers=auth_headers).headers["location"]
    base = f"{zoom_emulator.base_url}/rec/files/{file['id']}"
    assert httpx.get(base).status_code == 403
    assert httpx.get(location.replace("sig=", "sig=1")).status_code == 403
    other = first_meeting(zoom_emulator, auth_headers)["recording_files"][1]
    assert httpx.get(location.replace(file["id"], other["id"])).status_code == 403
    key = zoom_emulator.app.state.download_signing_key
    expired = sign(key, file["id"], ttl=-1)
    assert httpx.get(base, params={"sig": expired}).status_code == 403


def test_download_needs_a_bearer_token_in_the_header(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    file = first_meeting(zoom_emulator, auth_headers)["recording_files"][0]
    token = auth_headers["Authorization"].split()[1]
    in_query = httpx.get(file["download_url"], params={"access_token": token})
    assert in_query.status_code == 401
    assert in_query.json() == {
        "code": 124,
        "message": "Invalid access token, this access token is not supported as query parameter "
        "string.",
    }
    assert httpx.get(file["download_url"]).status_code == 401
    bad = httpx.get(file["download_url"], headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.json()["code"]) == (401, 124)
    missing = f"{zoom_emulator.base_url}/rec/download/no-such-file"
    assert httpx.get(missing, headers=auth_headers).json()["code"] == 3301


def test_download_without_a_recording_scope_is_4711(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    file = first_meeting(zoom_emulator, auth_headers)["recording_files"][0]
    headers = {"Authorization": f"Bearer {mint_token(zoom_emulator, ['meeting:read'])}"}
    response = httpx.get(file["download_url"], headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == 4711
    user_level = {"Authorization": f"Bearer {mint_token(zoom_emulator, ['recording:read'])}"}
    assert httpx.get(file["download_url"], headers=user_level).status_code == 302


class TestCutDownloads:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        return EmulatorConfig(faults=FaultSettings(cut_download_rate=1.0))

    def test_a_cut_download_ends_short(
        self, zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
    ) -> None:
        file = first_meeting(zoom_emulator, auth_headers)["recording_files"][0]
        received = 0
        declared = 0
        try:
            with httpx.stream(
                "GET", file["download_url"], headers=auth_headers, follow_redirects=True
            ) as response:
                assert response.status_code == 200
                declared = int(response.headers["content-length"])
                for piece in response.iter_bytes():
                    received += len(piece)
        except httpx.RemoteProtocolError:
            pass  # the usual outcome: the peer closed before Content-Length bytes came
        assert declared == file["file_size"]
        assert 0 < received < declared
        counters = zoom_emulator.state.counters
        assert counters["fault cut download"] == 1
        assert counters["download bytes"] == received


class TestHtmlDownloads:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        return EmulatorConfig(faults=FaultSettings(html_download_rate=1.0))

    def test_a_download_can_answer_an_html_page(
        self, zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
    ) -> None:
        file = first_meeting(zoom_emulator, auth_headers)["recording_files"][0]
        response = httpx.get(file["download_url"], headers=auth_headers, follow_redirects=True)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "Please sign in" in response.text
        assert len(response.content) != file["file_size"]
        assert zoom_emulator.state.counters["fault html download"] == 1


class TestLargeFiles:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        return EmulatorConfig(recording_bytes=200_000_000, recordings_per_user=1)

    def test_a_large_file_streams_in_pieces(
        self, zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
    ) -> None:
        file = first_meeting(zoom_emulator, auth_headers)["recording_files"][0]
        size = file["file_size"]
        assert size == 200_000_000
        received = 0
        largest_piece = 0
        tail = b""
        with httpx.stream(
            "GET", file["download_url"], headers=auth_headers, follow_redirects=True
        ) as response:
            assert int(response.headers["content-length"]) == size
            for piece in response.iter_raw():
                received += len(piece)
                largest_piece = max(largest_piece, len(piece))
                tail = (tail + piece)[-4096:]
        assert received == size
        assert tail == content.read_bytes(file["id"], size - 4096, size)
        assert largest_piece < 8 * 1024 * 1024  # streamed, not sent in one block
        location = httpx.get(file["download_url"], headers=auth_headers).headers["location"]
        start = 123_456_789
        sample = httpx.get(location, headers={"Range": f"bytes={start}-{start + 99_999}"})
        assert sample.status_code == 206
        assert sample.content == content.read_bytes(file["id"], start, start + 100_000)


def test_seeded_start_times_are_yesterday(zoom_emulator: ZoomEmulator) -> None:
    """The listing tests above rely on this: the seed puts its recordings on yesterday (UTC)."""
    for recording in zoom_emulator.state.recordings.values():
        assert recording.start_time.date().isoformat() == yesterday()


# ---- the recording lifecycle ---------------------------------------------------------------------
def test_files_still_processing_are_listed_but_not_downloadable_until_complete(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    created = add_recording(
        zoom_emulator,
        uuid=SLASHY_UUIDS[1],
        processing_file_types=["MP4"],
        mp4_bytes=20_000,
    )
    assert [f["status"] for f in created["files"]] == [
        "processing",
        "completed",
        "completed",
        "completed",
    ]
    ref = encode_uuid(created["uuid"])
    # Not checked against the spec: its `status` enum knows only "completed".
    listed = get_meeting(zoom_emulator, auth_headers, ref).json()
    by_type = {f["file_type"]: f for f in listed["recording_files"]}
    assert by_type["MP4"]["status"] == "processing"
    assert by_type["M4A"]["status"] == "completed"
    # No address of a processing file works yet: neither the download URL nor a signed one.
    assert httpx.get(by_type["M4A"]["download_url"], headers=auth_headers).status_code == 302
    refused = httpx.get(by_type["MP4"]["download_url"], headers=auth_headers)
    assert (refused.status_code, refused.json()["code"]) == (404, 3301)
    mp4_id = by_type["MP4"]["id"]
    sig = sign(zoom_emulator.app.state.download_signing_key, mp4_id)
    assert httpx.get(f"{zoom_emulator.base_url}/rec/files/{mp4_id}?sig={sig}").status_code == 404

    done = httpx.post(
        f"{zoom_emulator.base_url}/_emulator/recordings/{quote(created['uuid'], safe='')}/complete"
    )
    assert done.status_code == 200, done.text
    assert {f["status"] for f in done.json()["files"]} == {"completed"}
    relisted = get_meeting(zoom_emulator, auth_headers, ref).json()
    mp4 = next(f for f in relisted["recording_files"] if f["file_type"] == "MP4")
    assert mp4["status"] == "completed"
    fetched = httpx.get(mp4["download_url"], headers=auth_headers, follow_redirects=True)
    assert fetched.status_code == 200
    assert fetched.content == content.read_bytes(mp4_id, 0, mp4["file_size"])


def test_processing_types_must_be_among_the_file_types(zoom_emulator: ZoomEmulator) -> None:
    response = httpx.post(
        f"{zoom_emulator.base_url}/_emulator/recordings",
        json={"file_types": ["M4A"], "processing_file_types": ["MP4"]},
    )
    assert (response.status_code, response.json()["code"]) == (400, 300)
    assert "processing_file_types" in response.json()["message"]
    unknown = httpx.post(f"{zoom_emulator.base_url}/_emulator/recordings/nope/complete")
    assert (unknown.status_code, unknown.json()["code"]) == (404, 3301)
