"""Many files on the thread pool: order, failures, and one folder sync per folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.connections import s2s_credentials
from helpers.recordings import emulator_mp4, expected_sha, sha256_of

from prefect_zoom.exceptions import ZoomInputError, ZoomNotFoundError
from prefect_zoom.transfer import (
    DownloadJob,
    DownloadResult,
    TransferOptions,
    download_many,
    partial_path,
)
from zoom_emulator import ZoomEmulator


def test_durable_many_syncs_each_file_and_each_folder_once(
    zoom_emulator: ZoomEmulator, tmp_path: Path, fsynced: list[str]
) -> None:
    files = [emulator_mp4(zoom_emulator, 20_000 + n)[1] for n in range(4)]
    jobs = [DownloadJob(f, f"{'ab'[n % 2]}/{n}.mp4") for n, f in enumerate(files)]
    with s2s_credentials(zoom_emulator).get_client() as zoom:
        results = download_many(
            zoom, jobs, tmp_path, max_concurrency=3, options=TransferOptions(durable=True)
        )
    assert [r.path for r in results] == [str(tmp_path / j.relative_path) for j in jobs]
    landed = [Path(r.path) for r in results]
    here = [path for path in fsynced if path.startswith(str(tmp_path))]
    assert sorted(here[:4]) == sorted(str(partial_path(p)) for p in landed)
    assert sorted(here[4:]) == [str(tmp_path / "a"), str(tmp_path / "b")]  # once per folder


def test_every_file_is_attempted_and_the_first_failure_is_raised_after(
    zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    good = [emulator_mp4(zoom_emulator, 10_000)[1] for _ in range(3)]
    missing = good[0].model_copy(
        update={"id": "gone", "download_url": f"{zoom_emulator.base_url}/rec/download/gone"}
    )
    jobs = [
        DownloadJob(good[0], "0.mp4"),
        DownloadJob(missing, "1.mp4"),
        DownloadJob(good[1], "2.mp4"),
        DownloadJob(good[2], "3.mp4"),
    ]
    seen: dict[str, tuple[DownloadResult | None, BaseException | None]] = {}

    def on_result(
        job: DownloadJob, result: DownloadResult | None, error: BaseException | None
    ) -> None:
        seen[job.relative_path] = (result, error)

    with s2s_credentials(zoom_emulator).get_client() as zoom, pytest.raises(ZoomNotFoundError):
        download_many(zoom, jobs, tmp_path, max_concurrency=2, on_result=on_result)
    assert sorted(seen) == ["0.mp4", "1.mp4", "2.mp4", "3.mp4"]
    assert isinstance(seen["1.mp4"][1], ZoomNotFoundError) and seen["1.mp4"][0] is None
    for job in (jobs[0], jobs[2], jobs[3]):
        target = tmp_path / job.relative_path
        assert sha256_of(target) == expected_sha(zoom_emulator, job.file.id or "")


def test_a_pool_without_threads_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ZoomInputError, match="max_concurrency"):
        download_many(None, [], tmp_path, max_concurrency=0)  # type: ignore[arg-type]
