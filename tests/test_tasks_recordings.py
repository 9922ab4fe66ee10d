"""Recording tasks in Prefect flows, against the emulator over real HTTP (downloads included)."""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import fsspec
import httpx
import pytest
from connection_helpers import s2s_credentials
from prefect import flow
from prefect.filesystems import LocalFileSystem, RemoteFileSystem

from prefect_zoom import downloads
from prefect_zoom.downloads import (
    DownloadResult,
    ZoomDownloadError,
    acceptable_content_type,
    check_relative_path,
    download_recording,
    download_to_path,
    partial_path,
)
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
from prefect_zoom.tasks.recordings import encode_meeting_id
from zoom_emulator import EmulatorConfig, FaultSettings, ZoomEmulator
from zoom_emulator.models import content

TODAY = datetime.now(UTC).date()
FILE_ROUTE = "GET /rec/files/{file_id}"
LIST_ROUTE = "GET /v2/users/{userId}/recordings 200"


def configured(**settings: object) -> pytest.MarkDecorator:
    """Start this test's emulator with these settings (overrides the ``emulator_config`` fixture)."""
    return pytest.mark.parametrize("emulator_config", [EmulatorConfig(**settings)], ids=["cfg"])


@pytest.fixture
def block_name(zoom_emulator: ZoomEmulator) -> str:
    """A Server-to-Server block for this test's emulator, saved in the Prefect harness."""
    name = f"zoom-s2s-rec-{uuid.uuid4().hex[:10]}"
    s2s_credentials(zoom_emulator).save(name, overwrite=True)
    return name


def add_recording(emulator: ZoomEmulator, day: date, **fields: Any) -> dict[str, Any]:
    start = datetime.combine(day, time(15, 0), tzinfo=UTC)
    body = {"start_time": start.isoformat(), "mp4_bytes": 200_000, **fields}
    answer: dict[str, Any] = emulator.control("POST", "recordings", json=body)
    return answer


def emulator_mp4(emulator: ZoomEmulator, mp4_bytes: int) -> tuple[str, RecordingFile]:
    """A new recording of yesterday in the emulator; its MP4's id, and the MP4 as the listing
    describes it."""
    mp4 = add_recording(emulator, TODAY - timedelta(days=1), mp4_bytes=mp4_bytes)["files"][0]
    return mp4["id"], RecordingFile(
        id=mp4["id"],
        file_type="MP4",
        file_extension="MP4",
        file_size=mp4["file_size"],
        download_url=f"{emulator.base_url}/rec/download/{mp4['id']}",
    )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_sha(emulator: ZoomEmulator, file_id: str) -> str:
    return str(emulator.control("GET", f"files/{file_id}")["sha256"])


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
def test_encode_meeting_id() -> None:
    assert encode_meeting_id(85012345678) == "85012345678"
    assert encode_meeting_id("85012345678") == "85012345678"
    assert encode_meeting_id("aB+c/d==") == "aB%2Bc%2Fd%3D%3D"
    assert encode_meeting_id("/aBcd==") == "%252FaBcd%253D%253D"
    assert encode_meeting_id("aB//cd==") == "aB%252F%252Fcd%253D%253D"
    with pytest.raises(ZoomInputError):
        encode_meeting_id(" ")


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


# ---- the downloader on its own -----------------------------------------------------------------
def test_content_type_rules() -> None:
    assert acceptable_content_type("MP4", "video/mp4")
    assert acceptable_content_type("MP4", None)
    assert not acceptable_content_type("MP4", "text/html; charset=utf-8")
    assert not acceptable_content_type("TRANSCRIPT", "text/html")
    assert not acceptable_content_type("MP4", "audio/mp4")
    assert acceptable_content_type("NEWTYPE", "application/x-new")


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
            download_to_path(zoom, file, target, retry_delays=(0.0,))  # two cuts
        kept = partial_path(target).stat().st_size
        assert 500_000 <= kept < 1_000_000 and not target.exists()
        faults.cut_download_rate = 0.0
        result = download_to_path(zoom, file, target)
    assert result.status == "resumed"
    assert result.sha256 == sha256_of(target) == expected_sha(zoom_emulator, file_id)
    assert zoom_emulator.state.counters["fault cut download"] == 2


def test_durable_download_fsyncs_the_file_and_its_folder(
    zoom_emulator: ZoomEmulator, tmp_path: Path, fsynced: list[str]
) -> None:
    _, file = emulator_mp4(zoom_emulator, 200_000)
    target = tmp_path / "durable.mp4"
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        download_to_path(zoom, file, tmp_path / "plain.mp4")
        assert fsynced == []
        download_to_path(zoom, file, target, durable=True)
    assert fsynced == [str(partial_path(target)), str(tmp_path)]


def test_durable_download_of_a_file_already_there_forces_it_to_disk(
    zoom_emulator: ZoomEmulator, tmp_path: Path, fsynced: list[str]
) -> None:
    _, file = emulator_mp4(zoom_emulator, 100_000)
    target = tmp_path / "landed-earlier.mp4"
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        download_to_path(zoom, file, target)  # an earlier, ordinary run
        assert fsynced == []
        result = download_to_path(zoom, file, target, durable=True)
    assert result.status == "skipped"
    assert fsynced == [str(target), str(tmp_path)]


@pytest.mark.parametrize("block_size", [1 << 20, 4096], ids=["1 MiB block", "4 KiB block"])
def test_block_writer_keeps_order_and_hash_whatever_the_piece_sizes(
    tmp_path: Path, block_size: int
) -> None:
    from prefect_zoom.downloads import DIRECT_PIECE, _BlockWriter

    sizes = [10, 70_000, DIRECT_PIECE, 5, DIRECT_PIECE * 3, 200_000, 1, 1_048_576, 3, 4095, 4097]
    pieces = [bytes([n % 251]) * size for n, size in enumerate(sizes)]
    digest = hashlib.sha256()
    with (tmp_path / "out").open("wb", buffering=0) as out:
        sink = _BlockWriter(out, digest, block_size)
        for piece in pieces:
            sink.write(piece)
        sink.flush()
    whole = b"".join(pieces)
    assert (tmp_path / "out").read_bytes() == whole
    assert digest.hexdigest() == hashlib.sha256(whole).hexdigest()


# ---- private staging, partials and paths --------------------------------------------------------
def test_a_planted_partial_link_is_never_written_through(
    zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    file_id, file = emulator_mp4(zoom_emulator, 1_500_000)
    target = tmp_path / "x.mp4"
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"A" * 1_000_000)
    partial_path(target).symlink_to(victim)
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        result = download_to_path(zoom, file, target)
    assert victim.read_bytes() == b"A" * 1_000_000  # not appended to
    assert not target.is_symlink()
    assert result.status == "downloaded"  # started over instead of "resuming" someone's file
    assert result.sha256 == sha256_of(target) == expected_sha(zoom_emulator, file_id)


def test_a_partial_with_another_hard_link_is_not_resumed(
    zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    file_id, file = emulator_mp4(zoom_emulator, 300_000)
    target = tmp_path / "x.mp4"
    other = tmp_path / "other.bin"
    other.write_bytes(b"B" * 100_000)
    os.link(other, partial_path(target))
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        result = download_to_path(zoom, file, target)
    assert other.read_bytes() == b"B" * 100_000
    assert result.sha256 == sha256_of(target) == expected_sha(zoom_emulator, file_id)


def test_remote_uploads_stage_in_a_private_folder_not_the_old_shared_one(
    zoom_emulator: ZoomEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(downloads, "_staging", None)
    _, file = emulator_mp4(zoom_emulator, 200_000)
    block = RemoteFileSystem(basepath=f"memory://zoom-{uuid.uuid4().hex[:8]}")
    remote = block._resolve_path("in/movie.mp4")
    # Where the staging used to be (shared, predictable): a "complete" partial planted there.
    shared = tmp_path / "prefect-zoom-downloads" / hashlib.sha1(remote.encode()).hexdigest()
    shared.mkdir(parents=True)
    planted = tmp_path / "attacker.bin"
    planted.write_bytes(b"X" * 200_000)
    partial_path(shared / "movie.mp4").symlink_to(planted)
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        result = download_recording(zoom, file, block, "in/movie.mp4")
    uploaded = fsspec.filesystem("memory").cat_file(remote)
    assert hashlib.sha256(uploaded).hexdigest() == expected_sha(zoom_emulator, file.id or "")
    assert result.sha256 == expected_sha(zoom_emulator, file.id or "")
    root = downloads.staging_root()
    assert root.parent == tmp_path and root.stat().st_mode & 0o777 == 0o700
    assert root.stat().st_uid == os.getuid()


def test_a_staging_folder_someone_else_made_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(downloads, "_staging", None)
    elsewhere = tmp_path / "open"
    elsewhere.mkdir(mode=0o777)
    (tmp_path / f"prefect-zoom-downloads-{os.getuid()}").symlink_to(elsewhere)
    root = downloads.staging_root()
    assert root.parent == tmp_path and not root.is_symlink() and root != elsewhere
    assert root.stat().st_mode & 0o777 == 0o700
    # A folder of this user that others may enter is refused too.
    monkeypatch.setattr(downloads, "_staging", None)
    (tmp_path / f"prefect-zoom-downloads-{os.getuid()}").unlink()
    (tmp_path / f"prefect-zoom-downloads-{os.getuid()}").mkdir()
    os.chmod(tmp_path / f"prefect-zoom-downloads-{os.getuid()}", 0o755)
    assert downloads.staging_root().name != f"prefect-zoom-downloads-{os.getuid()}"


@pytest.mark.parametrize(
    "bad",
    [
        "C:/Windows/x",
        "c:\\Windows\\x",
        "C:x",
        "\\\\server\\share\\x",
        "//server/share/x",
        "/etc/passwd",
        "a/../../b",
        "",
    ],
)
def test_check_relative_path_refuses_what_leaves_the_destination(bad: str) -> None:
    with pytest.raises(ZoomInputError, match="not a relative path inside the destination"):
        check_relative_path(bad)


def test_check_relative_path_keeps_ordinary_paths() -> None:
    assert check_relative_path("2026-11-30_1_ab/x.mp4") == "2026-11-30_1_ab/x.mp4"
    assert check_relative_path("a\\b.mp4") == "a/b.mp4"
