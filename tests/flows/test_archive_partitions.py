"""``archive_recordings(partitions=N)``: shares of the users run as flow runs of a served
deployment (real processes on the session's Prefect API), retried when they fail, one report."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.flows import run_async
from helpers.prefect_server import archived_by_file_id, background, tail, wait_for
from helpers.recordings import configured
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from prefect.states import State

from prefect_zoom.flows import ArchiveReport, archive_recordings
from prefect_zoom.flows._manifest import MANIFEST_NAME, Manifest, ManifestEntry
from prefect_zoom.flows._partitions import (
    PARTITION_DEPLOYMENT,
    load_partition_manifest,
    merge_partition_manifests,
    split_users,
)
from zoom_emulator import EmulatorConfig, ZoomEmulator
from zoom_emulator.models import downloads
from zoom_emulator.models.errors import zoom_error

FILE_ROUTE = "GET /rec/files/{file_id}"
FLOW_NAME = "Zoom: archive recordings"
PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"
SERVE = """
import sys
from prefect import serve
from prefect.flows import EntrypointType
from prefect_zoom.flows import archive_recordings
# by module path, as prefect.yaml deploys it (the flow's postponed annotations need its module)
serve(archive_recordings.to_deployment(sys.argv[1], entrypoint_type=EntrypointType.MODULE_PATH))
"""
USERS = configured(seed_users=6, recordings_per_user=1, recording_bytes=150_000)


# ---- the split ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "partitions"), [(0, 3), (1, 3), (7, 3), (9, 3), (300, 3), (5, 8)]
)
def test_the_split_is_stable_complete_and_even(count: int, partitions: int) -> None:
    users = [f"user-{n:04d}" for n in range(count)]
    shares = split_users(reversed(users), partitions)
    assert shares == split_users([*users, *users[:2]], partitions)  # order and repeats: no matter
    assert sorted(u for share in shares for u in share) == users  # each user once
    assert len(shares) == min(partitions, count)
    sizes = [len(share) for share in shares]
    assert all(sizes) and (not sizes or max(sizes) - min(sizes) <= 1)
    assert [u for share in shares for u in share] == users  # contiguous runs of sorted ids


def test_partitions_below_one_are_refused(tmp_path: Path) -> None:
    state: State[Any] = run_async(
        archive_recordings(
            "no-block-needed",
            users=["a", "b"],
            destination=str(tmp_path),
            partitions=0,
            return_state=True,
        )
    )
    assert state.is_failed()
    assert "at least 1 partition" in str(state.result(raise_on_failure=False))


def test_prefect_yaml_has_the_partition_deployment_the_flow_names() -> None:
    """``archive-partition``: the nightly archive's flow with no schedule and no concurrency limit
    (a limit of 1 would hold the shares behind their own parent)."""
    entries = {e["name"]: e for e in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}
    partition, nightly = entries["archive-partition"], entries["nightly-archive"]
    assert f"{FLOW_NAME}/archive-partition" == PARTITION_DEPLOYMENT
    assert partition["entrypoint"] == nightly["entrypoint"]
    assert partition["schedules"] == [] and "concurrency_limit" not in partition
    assert partition["work_pool"]["name"] == nightly["work_pool"]["name"]
    # the nightly archive with partitions on is a valid set of parameters for its flow
    partitioned = {**nightly["parameters"], "whole_account": True, "partitions": 3}
    schema = archive_recordings.parameters.model_dump()["properties"]
    assert set(partitioned) <= set(schema)
    assert {"partitions", "partition_deployment", "partition_retries"} <= set(schema)


def entry(path: str, **fields: Any) -> ManifestEntry:
    """A manifest entry of a 1-byte file."""
    base = {"file_id": path, "meeting_uuid": "u", "meeting_id": 1, "file_type": "MP4"}
    return ManifestEntry(path=path, size=1, sha256="0" * 64, **{**base, **fields})


def test_shares_writing_at_once_lose_no_entry_and_the_merge_keeps_the_newest(
    tmp_path: Path,
) -> None:
    """Three shares save their manifests at the same time, entry by entry; the parent's merge
    holds every entry, and a later fact of the main manifest (trashed) survives a stale copy."""
    (tmp_path / "old.mp4").write_bytes(b"x")
    main = Manifest.load(tmp_path)
    main.add(entry("old.mp4"))
    main.save()

    def share(k: int) -> None:
        manifest = load_partition_manifest(tmp_path, k)
        for n in range(40):
            manifest.add(entry(f"share-{k}/{n}.mp4"))
            manifest.save()

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(share, range(3)))
    main = Manifest.load(tmp_path)
    main.entries["old.mp4"].trashed_in_zoom = True  # after the shares copied it
    main.save()
    merge_partition_manifests(tmp_path, 3)
    merged = Manifest.load(tmp_path).entries
    assert set(merged) == {"old.mp4"} | {f"share-{k}/{n}.mp4" for k in range(3) for n in range(40)}
    assert merged["old.mp4"].trashed_in_zoom
    merge_partition_manifests(tmp_path, 3)  # again: the same
    assert Manifest.load(tmp_path).entries == merged


# ---- shares run by a served deployment ---------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The archive flow served (``flow.serve``) in a process of its own on the session's API: the
    deployment's full name. Each share then runs in a process the runner starts."""
    name = f"archive-partition-{uuid.uuid4().hex[:8]}"
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    with background([sys.executable, "-c", SERVE, name], env, log) as process:

        def deployed() -> bool | None:
            assert process.poll() is None, tail(log)
            with get_client(sync_client=True) as client:
                try:
                    client.read_deployment_by_name(f"{FLOW_NAME}/{name}")
                except ObjectNotFound:
                    return None
            return True

        wait_for("the served deployment", deployed, [log], deadline=120)
        yield f"{FLOW_NAME}/{name}"


def fail_downloads_of(monkeypatch: pytest.MonkeyPatch, file_id: str, times: int) -> list[str]:
    """The emulator answers 404 (code 3301) to the next ``times`` downloads of ``file_id``; the
    list returned grows by one at each."""
    refused: list[str] = []
    real = downloads.find_file

    def find_file(state: Any, wanted: str) -> Any:
        if wanted == file_id and len(refused) < times:
            refused.append(wanted)
            raise zoom_error("no_recording")
        return real(state, wanted)

    monkeypatch.setattr(downloads, "find_file", find_file)
    return refused


def hosts(emulator: ZoomEmulator) -> list[str]:
    """The hosts of the emulator's recordings."""
    return [recording.host_id for recording in emulator.state.recordings.values()]


def a_file_of_the_second_share(emulator: ZoomEmulator, partitions: int) -> str:
    """A file id of a host in the second share of the account's recording hosts."""
    share = split_users(hosts(emulator), partitions)[1]
    return next(
        file_id
        for file_id, (uuid_, _) in sorted(emulator.state.files.items())
        if emulator.state.recordings[uuid_].host_id in share
    )


def assert_archived_once(emulator: ZoomEmulator, folder: Path, file_ids: set[str]) -> None:
    """These files landed byte-identical, each downloaded once, each in the main manifest."""
    files = archived_by_file_id(folder)
    assert set(files) >= file_ids
    for file_id in file_ids:
        digest = emulator.control("GET", f"files/{file_id}")["sha256"]
        assert hashlib.sha256(files[file_id].read_bytes()).hexdigest() == digest
    assert emulator.state.counters[f"{FILE_ROUTE} 200"] == len(files)
    entries = json.loads((folder / MANIFEST_NAME).read_text())["files"]
    by_path = {entry["path"]: entry for entry in entries}
    assert {p.relative_to(folder).as_posix() for p in files.values()} == set(by_path)
    assert all(entry["sha256"] for entry in entries)


async def child_runs(deployment: str) -> list[Any]:
    """The flow runs of the served deployment, oldest first."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(any_=[deployment.split("/", 1)[1]])
            )
        )
    return sorted(runs, key=lambda run: run.created or 0)


@dataclass
class Shares:
    """This test's emulator, connection block, served deployment and archive folder."""

    emulator: ZoomEmulator
    block: str
    deployment: str
    destination: Path
    runs_before: int

    def archive(self, **more: Any) -> Any:
        """A whole-account archive in three shares run by the served deployment."""
        return run_async(
            archive_recordings(
                self.block,
                whole_account=True,
                destination=str(self.destination),
                partitions=3,
                partition_deployment=self.deployment,
                **more,
            )
        )

    def share_runs(self) -> list[Any]:
        """The shares' flow runs this test started, oldest first."""
        return asyncio.run(child_runs(self.deployment))[self.runs_before :]


@pytest.fixture
def shares(zoom_emulator: ZoomEmulator, block_name: str, served: str, tmp_path: Path) -> Shares:
    before = len(asyncio.run(child_runs(served)))
    return Shares(zoom_emulator, block_name, served, tmp_path / "archive", before)


@USERS
def test_three_partitions_archive_every_file_once_and_a_rerun_downloads_nothing(
    emulator_config: EmulatorConfig, shares: Shares
) -> None:
    emulator = shares.emulator
    report = shares.archive()
    every_file = set(emulator.state.files)
    assert len(every_file) >= 12
    assert report.count("downloaded") == len(every_file) == len(report.files)
    assert report.meetings == len(emulator.state.recordings)
    assert_archived_once(emulator, shares.destination, every_file)
    runs = shares.share_runs()
    assert len(runs) == 3 and all(run.parent_task_run_id for run in runs)  # shown under the parent
    assert len(set(hosts(emulator))) == 6
    assert sorted(sorted(run.parameters["users"]) for run in runs) == split_users(
        hosts(emulator), 3
    )

    again = shares.archive()
    assert again.count("already archived") == len(every_file)
    assert emulator.state.counters[f"{FILE_ROUTE} 200"] == len(every_file)


@USERS
def test_a_share_that_fails_once_is_retried_and_the_report_is_complete(
    emulator_config: EmulatorConfig, shares: Shares, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = shares.emulator
    refused = fail_downloads_of(monkeypatch, a_file_of_the_second_share(emulator, 3), 1)
    report: ArchiveReport = shares.archive()
    assert len(refused) == 1
    every_file = set(emulator.state.files)
    # every file once, as downloaded by this run (the first try's files count, not "already")
    assert report.count("downloaded") == len(every_file) == len(report.files)
    assert_archived_once(emulator, shares.destination, every_file)
    runs = shares.share_runs()
    failed = [run for run in runs if run.state.is_failed()]
    assert len(runs) == 4 and len(failed) == 1  # three shares, then the failed one once more
    assert runs[-1].parameters["users"] == failed[0].parameters["users"]
    assert runs[-1].state.is_completed()


@USERS
def test_a_share_that_keeps_failing_fails_the_run_naming_it_and_the_rest_is_kept(
    emulator_config: EmulatorConfig, shares: Shares, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = shares.emulator
    broken = a_file_of_the_second_share(emulator, 3)
    refused = fail_downloads_of(monkeypatch, broken, 1_000)
    state: State[Any] = shares.archive(partition_retries=1, return_state=True)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert "Partitions 2 of 3 still failed after 1 retries" in str(error)
    assert len(refused) == 2  # the share ran twice
    kept = set(emulator.state.files) - {broken}
    assert_archived_once(emulator, shares.destination, kept)
    assert broken not in archived_by_file_id(shares.destination)
