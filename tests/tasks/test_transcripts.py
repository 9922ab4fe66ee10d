"""get_transcript against the emulator over real HTTP: segments, text, resume, failures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from helpers.recordings import TODAY, add_recording, configured, expected_sha, sha256_of
from prefect import flow

from prefect_zoom.exceptions import ZoomDownloadError, ZoomMissingScopesError, ZoomNotFoundError
from prefect_zoom.models import Transcript
from prefect_zoom.tasks import get_transcript
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator
from zoom_emulator.models.content import CUE_SECONDS

FILE_ROUTE = "GET /rec/files/{file_id}"


@flow
def transcript_of(credentials: str, meeting_id: int | str, folder: Path) -> Transcript:
    return get_transcript(credentials, meeting_id, folder)


def _transcript_id(created: dict[str, object]) -> str:
    files = created["files"]
    assert isinstance(files, list)
    return str(next(f["id"] for f in files if f["file_type"] == "TRANSCRIPT"))


def test_segments_speakers_and_text_then_skip(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1), duration=10)
    transcript = transcript_of(block_name, created["uuid"], tmp_path)

    assert len(transcript.segments) == 10 * 60 // CUE_SECONDS
    first, second = transcript.segments[:2]
    assert first.start == timedelta(0) and timedelta(0) < first.end < second.start
    assert second.start == timedelta(seconds=CUE_SECONDS)
    owner = zoom_emulator.state.owner()
    assert set(transcript.speakers) <= {
        f"{owner.first_name} {owner.last_name}",
        "Ada Lovelace",
        "Alan Turing",
    }
    assert all(s.speaker and s.text and ":" not in s.speaker for s in transcript.segments)
    lines = transcript.text.splitlines()
    assert lines == [f"{s.speaker}: {s.text}" for s in transcript.segments]
    assert transcript.model_dump()["text"] == transcript.text  # in the task's result too

    landed = Path(transcript.path or "")
    assert landed.suffix == ".vtt" and landed.is_relative_to(tmp_path)
    assert sha256_of(landed) == expected_sha(zoom_emulator, _transcript_id(created))

    downloads = zoom_emulator.state.counters["downloads"]
    again = transcript_of(block_name, created["id"], tmp_path)  # by meeting number this time
    assert again.segments == transcript.segments
    assert zoom_emulator.state.counters["downloads"] == downloads  # already there: skipped


@configured(faults=FaultSettings(cut_download_rate=0.5, seed=1))  # dice: cut, then whole
def test_a_cut_transcript_download_is_resumed(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = add_recording(
        zoom_emulator, TODAY - timedelta(days=1), file_types=["TRANSCRIPT"], duration=60
    )
    transcript = transcript_of(block_name, created["uuid"], tmp_path)
    counters = zoom_emulator.state.counters
    assert counters["fault cut download"] == 1
    assert counters[f"{FILE_ROUTE} 206"] == 1  # the resume asked for the rest only
    assert len(transcript.segments) == 60 * 60 // CUE_SECONDS
    landed = Path(transcript.path or "")
    assert sha256_of(landed) == expected_sha(zoom_emulator, _transcript_id(created))


def test_a_meeting_without_transcript_or_unknown_is_404(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    video_only = add_recording(zoom_emulator, TODAY - timedelta(days=1), file_types=["MP4"])
    with pytest.raises(ZoomNotFoundError) as caught:
        transcript_of(block_name, video_only["uuid"], tmp_path)
    assert "no completed audio transcript" in str(caught.value)
    assert zoom_emulator.state.counters["downloads"] == 0

    with pytest.raises(ZoomNotFoundError) as unknown:
        transcript_of(block_name, 99999999999, tmp_path)
    assert unknown.value.status == 404
    assert list(tmp_path.rglob("*")) == []


def test_missing_scope_is_raised_with_4711(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1))
    zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id].scopes = ["meeting:read"]
    with pytest.raises(ZoomMissingScopesError) as caught:
        transcript_of(block_name, created["uuid"], tmp_path)
    assert caught.value.code == 4711
    assert "cloud_recording:read:list_recording_files" in caught.value.scopes_to_add


@configured(faults=FaultSettings(html_download_rate=1.0, seed=5))
def test_an_html_answer_is_a_download_error(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1))
    with pytest.raises(ZoomDownloadError):
        transcript_of(block_name, created["uuid"], tmp_path)
    assert list(tmp_path.rglob("*.vtt")) == []


def test_a_document_that_is_not_webvtt_is_refused() -> None:
    with pytest.raises(ZoomDownloadError) as caught:
        Transcript.from_vtt("<html><body>Sign in</body></html>", path="x.vtt")
    assert "x.vtt is not a WebVTT file" in str(caught.value)
    plain = Transcript.from_vtt("WEBVTT\n\n00:00:01.500 --> 00:00:02.000\nno speaker here\n")
    assert plain.segments[0].speaker is None and plain.text == "no speaker here"
    assert plain.segments[0].start == timedelta(seconds=1.5)
