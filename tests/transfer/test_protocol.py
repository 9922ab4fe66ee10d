"""The download protocol: answer checks as pure functions, and resume against the emulator."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from helpers.connections import s2s_credentials
from helpers.recordings import emulator_mp4, expected_sha, sha256_of

from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.transfer import (
    TransferOptions,
    acceptable_content_type,
    download_to_path,
    partial_path,
)
from prefect_zoom.transfer.protocol import announced_size, looks_like_html, resume_offset
from zoom_emulator import ZoomEmulator
from zoom_emulator.models import content

FILE_ROUTE = "GET /rec/files/{file_id}"


# ---- answer checks -----------------------------------------------------------------------------
def test_content_type_rules() -> None:
    assert acceptable_content_type("MP4", "video/mp4")
    assert acceptable_content_type("MP4", None)
    assert not acceptable_content_type("MP4", "text/html; charset=utf-8")
    assert not acceptable_content_type("TRANSCRIPT", "text/html")
    assert not acceptable_content_type("MP4", "audio/mp4")
    assert acceptable_content_type("NEWTYPE", "application/x-new")


@pytest.mark.parametrize(
    ("status", "content_range", "have", "start"),
    [
        (200, None, 0, 0),
        (200, None, 500, 0),  # the server ignored the range: start over
        (206, "bytes 500-999/1000", 500, 500),
        (206, "BYTES  500-999/*", 500, 500),
        (206, "bytes 400-999/1000", 500, None),  # resumed elsewhere: the partial must go
        (206, None, 500, None),
        (206, "items 500-999/1000", 500, None),
    ],
)
def test_resume_offset_appends_only_where_the_partial_ends(
    status: int, content_range: str | None, have: int, start: int | None
) -> None:
    assert resume_offset(status, content_range, have) == start


def test_announced_size_counts_from_the_start_and_ignores_junk_lengths() -> None:
    assert announced_size(0, "1000") == 1000
    assert announced_size(500, "500") == 1000
    assert announced_size(0, None) is None
    assert announced_size(0, "-1") is None
    assert announced_size(0, "²") is None  # a digit to str.isdigit, not a number to int()


def test_an_html_page_is_recognised_from_its_first_bytes() -> None:
    assert looks_like_html(b"<!DOCTYPE html><html>")
    assert looks_like_html(b"  \n<HTML lang=en>")
    assert not looks_like_html(b"\x00\x00\x00\x18ftypmp42")
    assert not looks_like_html(b"WEBVTT\n\n1\n<b>html</b>")


def test_transfer_options_are_checked_and_keep_delays_as_a_tuple() -> None:
    options = TransferOptions(retry_delays=[0, 1.5])  # type: ignore[arg-type]
    assert options.retry_delays == (0.0, 1.5)
    with pytest.raises(ZoomInputError, match="chunk_size"):
        TransferOptions(chunk_size=0)
    with pytest.raises(ZoomInputError, match="retry_delays"):
        TransferOptions(retry_delays=(1.0, -1.0))


# ---- resume, against the emulator --------------------------------------------------------------
def test_partial_from_an_earlier_run_is_resumed(
    zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    file_id, file = emulator_mp4(zoom_emulator, 1_500_000)
    target = tmp_path / "x.mp4"
    partial_path(target).write_bytes(content.read_bytes(file_id, 0, 1_000_000))
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        result = download_to_path(zoom, file, target)
    assert result.status == "resumed"
    assert result.sha256 == sha256_of(target) == expected_sha(zoom_emulator, file_id)
    assert zoom_emulator.state.counters[f"{FILE_ROUTE} 206"] == 1
    assert zoom_emulator.state.counters["download bytes"] == 500_000


def test_spent_retries_keep_the_partial_for_the_next_run(
    zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    file_id, file = emulator_mp4(zoom_emulator, 1_000_000)
    target = tmp_path / "cut.mp4"
    faults = zoom_emulator.state.config.faults
    faults.cut_download_rate = 1.0
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        with pytest.raises(httpx.TransportError):
            download_to_path(
                zoom, file, target, options=TransferOptions(retry_delays=(0.0,))
            )  # two cuts
        kept = partial_path(target).stat().st_size
        assert 500_000 <= kept < 1_000_000 and not target.exists()
        faults.cut_download_rate = 0.0
        result = download_to_path(zoom, file, target)
    assert result.status == "resumed"
    assert result.sha256 == sha256_of(target) == expected_sha(zoom_emulator, file_id)
    assert zoom_emulator.state.counters["fault cut download"] == 2
