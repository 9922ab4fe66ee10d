"""The emulator's audio transcripts: WebVTT files with ``Speaker Name: text`` cues."""

from __future__ import annotations

import re

import httpx
from helpers.zoom_spec import assert_matches_spec

from zoom_emulator import ZoomEmulator
from zoom_emulator.models import content

CUE = re.compile(
    r"^(\d+)\n(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n([^:\n]+): ([^\n]+)$"
)


def test_a_transcript_is_listed_and_served_as_webvtt(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    created = httpx.post(
        f"{zoom_emulator.base_url}/_emulator/recordings",
        json={"duration": 2, "file_types": ["MP4", "TRANSCRIPT"]},
    ).json()
    listed = httpx.get(
        f"{zoom_emulator.api_url}/meetings/{created['id']}/recordings", headers=auth_headers
    )
    body = assert_matches_spec(listed, "GET", "/meetings/{meetingId}/recordings")
    (file,) = [f for f in body["recording_files"] if f["file_type"] == "TRANSCRIPT"]
    assert (file["file_extension"], file["recording_type"]) == ("VTT", "audio_transcript")

    response = httpx.get(file["download_url"], headers=auth_headers, follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/vtt")
    assert len(response.content) == file["file_size"]
    assert response.content == content.read_bytes(file["id"], 0, file["file_size"])

    header, *cues = response.content.decode("utf-8").strip().split("\n\n")
    assert header == "WEBVTT"
    assert len(cues) == 2 * 60 // content.CUE_SECONDS
    owner = zoom_emulator.state.owner()
    for number, cue in enumerate(cues, start=1):
        match = CUE.match(cue)
        assert match is not None, cue
        assert int(match[1]) == number and match[2] < match[3]
        assert match[4] in {f"{owner.first_name} {owner.last_name}", "Ada Lovelace", "Alan Turing"}


def test_a_range_of_a_transcript_is_its_bytes(
    zoom_emulator: ZoomEmulator, auth_headers: dict[str, str]
) -> None:
    created = httpx.post(
        f"{zoom_emulator.base_url}/_emulator/recordings", json={"file_types": ["TRANSCRIPT"]}
    ).json()
    file_id = created["files"][0]["id"]
    whole = content.read_bytes(file_id, 0, created["files"][0]["file_size"])
    tail = httpx.get(
        f"{zoom_emulator.base_url}/rec/download/{file_id}",
        headers={**auth_headers, "Range": "bytes=100-"},
        follow_redirects=True,
    )
    assert tail.status_code == 206 and tail.content == whole[100:]
