"""Recording tasks in Prefect flows, against the emulator over real HTTP (downloads included)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import fsspec
import pytest
from helpers.recordings import TODAY, add_recording, expected_sha, sha256_of
from prefect import flow
from prefect.filesystems import LocalFileSystem, RemoteFileSystem

from prefect_zoom.exceptions import ZoomInputError, ZoomMissingScopesError, ZoomNotFoundError
from prefect_zoom.models import RecordingMeeting
from prefect_zoom.models.recordings import RecordingFile
from prefect_zoom.tasks import (
    delete_recordings,
    download_meeting_recordings,
    download_recording_file,
    get_meeting_recordings,
    list_recordings,
    recover_recordings,
)
from prefect_zoom.transfer import DownloadResult, ZoomDownloadError, partial_path
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator

FILE_ROUTE = "GET /rec/files/{file_id}"
LIST_ROUTE = "GET /v2/users/{userId}/recordings 200"


def configured(**settings: object) -> pytest.MarkDecorator:
    """Start this test's emulator with these settings (overrides the ``emulator_config`` fixture)."""
    return pytest.mark.parametrize("emulator_config", [EmulatorConfig(**settings)], ids=["cfg"])


def first_mp4(recording: RecordingMeeting) -> RecordingFile:
    return next(f for f in recording.recording_files if f.file_type == "MP4")


@flow
def get_recording(credentials: str, meeting: int | str) -> RecordingMeeting:
    return get_meeting_recordings(credentials, meeting)


@flow
def download_one(
    credentials: str, meeting: int | str, destination: Any, subfolder: str | None = None
) -> DownloadResult:
    recording = get_meeting_recordings(credentials, meeting)
    return download_recording_file(
        credentials, first_mp4(recording), destination, subfolder=subfolder
    )


# ---- listing -----------------------------------------------------------------------------------
def test_list_my_recordings_over_three_months_with_pages(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    older = [add_recording(zoom_emulator, TODAY - timedelta(days=d)) for d in (40, 41, 70)]
    add_recording(zoom_emulator, TODAY - timedelta(days=120))  # outside the range

    @flow
    def listing(credentials: str) -> list[RecordingMeeting]:
        return list_recordings(
            credentials, from_date=TODAY - timedelta(days=75), to_date=TODAY, page_size=1
        )

    found = listing(block_name)
    uuids = [r.uuid for r in found]
    assert len(uuids) == len(set(uuids)) == 2 + 3  # two seeded yesterday, three older
    assert {r["uuid"] for r in older} <= set(uuids)
    # three month windows, one page per recording plus... each page holds one recording
    assert zoom_emulator.state.counters[LIST_ROUTE] >= 5


def test_default_range_is_yesterday_and_today(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    add_recording(zoom_emulator, TODAY - timedelta(days=3))

    @flow
    def listing(credentials: str) -> list[RecordingMeeting]:
        return list_recordings(credentials)

    assert len(listing(block_name)) == 2


@configured(seed_users=3)
def test_list_by_user_id_and_whole_account(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    other = next(u for u in zoom_emulator.state.users.values() if u.email == "user2@example.com")
    extra = add_recording(zoom_emulator, TODAY - timedelta(days=45), user=other.id)

    @flow
    def listing(credentials: str) -> tuple[list[RecordingMeeting], list[RecordingMeeting]]:
        since = TODAY - timedelta(days=50)
        by_id = list_recordings(credentials, other.id, from_date=since)
        account = list_recordings(credentials, None, from_date=since, page_size=2)
        return by_id, account

    by_id, account = listing(block_name)
    assert {r.host_id for r in by_id} == {other.id}
    assert extra["uuid"] in {r.uuid for r in by_id} and len(by_id) == 3
    assert len(account) == len({r.uuid for r in account}) == 3 * 2 + 1


def test_range_ending_before_it_starts_is_refused_before_any_request(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    @flow
    def listing(credentials: str) -> list[RecordingMeeting]:
        return list_recordings(credentials, from_date=TODAY, to_date=TODAY - timedelta(days=1))

    before = zoom_emulator.state.counters["requests"]
    with pytest.raises(ZoomInputError) as caught:
        listing(block_name)
    assert caught.value.field == "to_date"
    assert zoom_emulator.state.counters["requests"] == before


@configured(faults=FaultSettings(error_rate=0.3, seed=3))
def test_5xx_on_list_is_retried(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    for days in range(2, 12):
        add_recording(zoom_emulator, TODAY - timedelta(days=days))

    @flow
    def listing(credentials: str) -> list[RecordingMeeting]:
        return list_recordings(credentials, from_date=TODAY - timedelta(days=15), page_size=2)

    assert len(listing(block_name)) == 12
    assert zoom_emulator.state.counters["fault 5xx"] > 0


def test_missing_scope_is_raised_with_4711(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    app = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
    app.scopes = ["meeting:read", "user:read"]

    @flow
    def listing(credentials: str) -> list[RecordingMeeting]:
        return list_recordings(credentials)

    with pytest.raises(ZoomMissingScopesError) as caught:
        listing(block_name)
    assert caught.value.code == 4711
    assert "cloud_recording:read:list_user_recordings" in caught.value.scopes_to_add


# ---- one meeting's recordings ------------------------------------------------------------------
@pytest.mark.parametrize("uuid_value", ["/slashFirst+uuid==", "two//slashes/in+uuid=="])
def test_meeting_recordings_by_awkward_uuid(
    zoom_emulator: ZoomEmulator, block_name: str, uuid_value: str
) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1), uuid=uuid_value)
    recording = get_recording(block_name, uuid_value)
    assert recording.uuid == uuid_value and recording.id == created["id"]
    assert len(recording.recording_files) == 4
    assert get_recording(block_name, created["id"]).uuid == uuid_value


# ---- downloads ---------------------------------------------------------------------------------
def test_download_then_skip(zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1), mp4_bytes=3_000_000)
    result = download_one(block_name, created["uuid"], tmp_path, "nightly")
    target = Path(result.path)
    assert result.status == "downloaded" and target.parent == tmp_path / "nightly"
    assert result.sha256 == sha256_of(target) == expected_sha(zoom_emulator, result.file_id or "")
    assert result.size == target.stat().st_size == 3_000_000
    assert result.content_type == "video/mp4"
    assert not partial_path(target).exists()
    assert [p.name for p in target.parent.iterdir()] == [target.name]

    downloads = zoom_emulator.state.counters["downloads"]
    again = download_one(block_name, created["uuid"], tmp_path, "nightly")
    assert again.status == "skipped" and again.path == result.path
    assert zoom_emulator.state.counters["downloads"] == downloads


@configured(faults=FaultSettings(cut_download_rate=0.5, seed=1))  # dice: cut, then whole
def test_cut_download_is_resumed(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1), mp4_bytes=4_000_000)
    result = download_one(block_name, created["uuid"], tmp_path)
    counters = zoom_emulator.state.counters
    assert counters["fault cut download"] == 1
    assert counters[f"{FILE_ROUTE} 206"] == 1  # the resume asked for the rest only
    assert result.status == "resumed"
    target = Path(result.path)
    assert result.sha256 == sha256_of(target) == expected_sha(zoom_emulator, result.file_id or "")
    assert counters["download bytes"] == 4_000_000
    assert not partial_path(target).exists()


@configured(faults=FaultSettings(html_download_rate=1.0, seed=5))
def test_html_answer_is_a_clear_error_and_leaves_nothing(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1))
    with pytest.raises(ZoomDownloadError) as caught:
        download_one(block_name, created["uuid"], tmp_path)
    assert "text/html" in str(caught.value)
    assert list(tmp_path.rglob("*")) == []
    assert zoom_emulator.state.counters["fault html download"] == 1  # not retried


def test_deleted_file_is_404(zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1))

    @flow
    def delete_then_download(credentials: str) -> DownloadResult:
        recording = get_meeting_recordings(credentials, created["uuid"])
        mp4 = first_mp4(recording)
        delete_recordings(credentials, created["uuid"], mp4.id, action="delete")
        return download_recording_file(credentials, mp4, tmp_path)

    with pytest.raises(ZoomNotFoundError) as caught:
        delete_then_download(block_name)
    assert caught.value.status == 404 and caught.value.code == 3301
    assert list(tmp_path.rglob("*")) == []


def test_download_to_a_local_file_system_block(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1))
    block = LocalFileSystem(basepath=str(tmp_path / "store"))
    result = download_one(block_name, created["uuid"], block, "zoom")
    target = Path(result.path)
    assert target.parent == (tmp_path / "store" / "zoom").resolve()
    assert sha256_of(target) == expected_sha(zoom_emulator, result.file_id or "")


def test_download_to_a_remote_file_system_block(
    zoom_emulator: ZoomEmulator, block_name: str
) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=1))
    base = f"memory://zoom-{uuid.uuid4().hex[:8]}"
    block = RemoteFileSystem(basepath=base)
    result = download_one(block_name, created["uuid"], block, "nightly")
    assert result.status == "downloaded" and result.path.startswith(base)
    fs = fsspec.filesystem("memory")
    data = fs.cat_file(result.path)
    assert hashlib.sha256(data).hexdigest() == result.sha256
    assert result.sha256 == expected_sha(zoom_emulator, result.file_id or "")
    assert [p.rsplit("/", 1)[1] for p in fs.ls(result.path.rsplit("/", 1)[0], detail=False)] == [
        result.path.rsplit("/", 1)[1]
    ]  # no temporary upload left behind
    downloads = zoom_emulator.state.counters["downloads"]
    assert download_one(block_name, created["uuid"], block, "nightly").status == "skipped"
    assert zoom_emulator.state.counters["downloads"] == downloads


def test_download_meeting_recordings_concurrently(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    created = add_recording(
        zoom_emulator,
        TODAY - timedelta(days=1),
        mp4_bytes=2_000_000,
        file_types=["MP4", "M4A", "TRANSCRIPT", "CHAT"],
    )

    @flow
    def download_all(credentials: str) -> tuple[RecordingMeeting, list[DownloadResult]]:
        recording = get_meeting_recordings(credentials, created["uuid"])
        results = download_meeting_recordings(
            credentials, recording, str(tmp_path), max_concurrency=4
        )
        return recording, results

    recording, results = download_all(block_name)
    assert [r.file_id for r in results] == [f.id for f in recording.recording_files]
    folder = tmp_path / recording.folder_name
    for result, file in zip(results, recording.recording_files, strict=True):
        assert Path(result.path) == folder / file.file_name
        assert result.sha256 == sha256_of(folder / file.file_name)
        assert result.sha256 == expected_sha(zoom_emulator, file.id or "")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f.file_name for f in recording.recording_files
    )

    @flow
    def only_transcripts(credentials: str) -> list[DownloadResult]:
        recording = get_meeting_recordings(credentials, created["uuid"])
        return download_meeting_recordings(
            credentials, recording, str(tmp_path), file_types=["transcript"]
        )

    again = only_transcripts(block_name)
    assert [(r.file_type, r.status) for r in again] == [("TRANSCRIPT", "skipped")]


def test_unknown_file_type_is_refused_before_any_request(
    zoom_emulator: ZoomEmulator, block_name: str, tmp_path: Path
) -> None:
    recording = {
        "uuid": "abc==",
        "id": 1,
        "recording_files": [
            {"file_type": "CC", "download_url": f"{zoom_emulator.base_url}/rec/download/x"}
        ],
    }

    @flow
    def download_all(credentials: str) -> list[DownloadResult]:
        return download_meeting_recordings(
            credentials, recording, tmp_path, file_types=["MP4", "MOV"]
        )

    before = zoom_emulator.state.counters["requests"]
    with pytest.raises(ZoomInputError) as caught:
        download_all(block_name)
    assert caught.value.field == "file_types" and "MOV" in str(caught.value)
    assert zoom_emulator.state.counters["requests"] == before


# ---- trash and recover -------------------------------------------------------------------------
def test_trash_then_recover(zoom_emulator: ZoomEmulator, block_name: str) -> None:
    created = add_recording(zoom_emulator, TODAY - timedelta(days=35), uuid="//trash/me+==")
    since = TODAY - timedelta(days=40)

    @flow
    def cycle(credentials: str) -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        delete_recordings(credentials, created["uuid"])
        seen["after trash"] = {r.uuid for r in list_recordings(credentials, from_date=since)}
        trashed = list_recordings(credentials, from_date=since, trash=True)
        seen["trash"] = {r.uuid for r in trashed}
        seen["trash count"] = {str(len(trashed))}
        recover_recordings(credentials, created["uuid"])
        seen["after recover"] = {r.uuid for r in list_recordings(credentials, from_date=since)}
        return seen

    seen = cycle(block_name)
    assert created["uuid"] not in seen["after trash"]
    assert seen["trash"] == {created["uuid"]} and seen["trash count"] == {"1"}
    assert created["uuid"] in seen["after recover"]
