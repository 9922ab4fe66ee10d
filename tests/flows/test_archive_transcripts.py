"""``archive_recordings(transcript_text=True)``: the plain text beside each archived transcript."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from helpers.recordings import configured

from prefect_zoom.flows import archive_recordings
from prefect_zoom.flows._manifest import MANIFEST_NAME, Manifest
from prefect_zoom.flows._transcript_text import write_transcript_texts
from prefect_zoom.models import Transcript
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator


def _archive(
    block_name: str,
    folder: Path,
    *,
    transcript_text: bool = False,
    file_types: list[str] | None = None,
) -> list[str]:
    report = asyncio.run(
        archive_recordings(
            block_name,
            destination=str(folder),
            file_types=file_types,
            transcript_text=transcript_text,
        )
    )
    assert report.count("failed") == 0
    return report.transcript_texts


@configured(recordings_per_user=2, recording_bytes=200_000)
def test_text_lands_beside_each_vtt_once_and_in_the_manifest(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    written = _archive(block_name, tmp_path, transcript_text=True)

    vtts = sorted(tmp_path.rglob("*.vtt"))
    assert len(vtts) == 2
    assert sorted(tmp_path / path for path in written) == [v.with_suffix(".txt") for v in vtts]
    for vtt in vtts:
        text = vtt.with_suffix(".txt").read_text(encoding="utf-8")
        assert text == Transcript.from_vtt(vtt.read_text(encoding="utf-8")).text + "\n"
        assert text.count("\n") == text.count(": ") > 0
    entries = {e["path"]: e for e in json.loads((tmp_path / MANIFEST_NAME).read_text())["files"]}
    for path in written:
        assert entries[path]["file_type"] == "TRANSCRIPT_TEXT"
        assert entries[path]["size"] == (tmp_path / path).stat().st_size

    stamps = {path: os.stat(tmp_path / path).st_mtime_ns for path in written}
    assert _archive(block_name, tmp_path, transcript_text=True) == []  # written once
    assert {path: os.stat(tmp_path / path).st_mtime_ns for path in written} == stamps


@configured(recordings_per_user=1, recording_bytes=200_000)
def test_without_the_option_no_text_is_written(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    assert _archive(block_name, tmp_path) == []
    (vtt,) = tmp_path.rglob("*.vtt")
    assert not vtt.with_suffix(".txt").exists()
    assert [p for p in tmp_path.rglob("*.txt") if "transcript" in p.name] == []


@configured(recordings_per_user=1, faults=FaultSettings(cut_download_rate=0.5, seed=1))
def test_a_cut_transcript_is_resumed_then_its_text_written(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    written = _archive(block_name, tmp_path, transcript_text=True, file_types=["TRANSCRIPT"])
    assert zoom_emulator.state.counters["fault cut download"] >= 1
    (vtt,) = tmp_path.rglob("*.vtt")
    assert written == [str(vtt.with_suffix(".txt").relative_to(tmp_path))]
    assert (
        vtt.with_suffix(".txt")
        .read_text(encoding="utf-8")
        .startswith(Transcript.from_vtt(vtt.read_text(encoding="utf-8")).segments[0].speaker or "?")
    )


@configured(recordings_per_user=1, recording_bytes=200_000)
def test_a_rebuilt_manifest_still_knows_the_transcripts(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    _archive(block_name, tmp_path, file_types=["TRANSCRIPT"])
    (tmp_path / MANIFEST_NAME).write_text("{not json")  # rebuilt from the file names on load
    manifest = Manifest.load(str(tmp_path))
    written = write_transcript_texts.fn(manifest)
    assert [Path(p).suffix for p in written] == [".txt"]
    assert (tmp_path / written[0]).read_text(encoding="utf-8").strip()
