"""A team's setup end to end: PostgreSQL-backed Prefect, three process workers, one Zoom connection.

Run ``python benchmarks/team_scenario.py`` (``make chaos`` runs it). As root it installs Debian's
``postgresql`` when no PostgreSQL server is found. Then, all on 127.0.0.1 and all stopped at the
end:

1. a PostgreSQL cluster in a temporary folder on a free port (``initdb`` + ``pg_ctl``, as the
   ``postgres`` user when run as root), with a ``prefect`` database;
2. a Prefect server on it (``PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://...``);
3. the Zoom emulator, whose access tokens live ``--ttl`` seconds (3), with recordings to archive;
4. one OAuth connection saved as a block (authorized through the emulator's pages, with
   ``rate_plan="pro"``, so every worker paces through the account's budget), a process
   work pool, three ``prefect worker start`` processes, and an ``archive_recordings`` deployment
   (module entrypoint, no code to pull, like ``deployments/prefect.yaml``);
5. ``--runs`` flow runs of it at once, each into its own folder, all on that one connection;
6. then the partitioned archive: ``--partitioned-users`` more users with a recording each, the
   emulator on Zoom's Pro rate limits, and one whole-account run with ``partitions=3`` whose
   shares run as flow runs of an ``archive-partition`` deployment on the same workers.

Each worker takes at most a third of the runs at once, so all three run some. It passes when every
run completes, every worker started runs (read from each run's log in the API), every file of
every run is complete, the connection still works at the end, and the partitioned archive
completed with every file of the account byte-identical to Zoom's and in its manifest with its
SHA-256, none downloaded twice, and under 1 % of the requests the account's rate limits count
(API calls and downloads) answered 429. One JSON line is printed (runs, states, token refreshes,
seconds, the partitioned archive's figures); the exit code is 0 on a pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _postgres import postgres_cluster
from _support import (
    ROOT,
    exit_cleanly_on_sigterm,
    prefect_env,
    prefect_server,
    save_oauth_block,
    stop_group,
)
from download_throughput import emulator_process

ENTRYPOINT = "prefect_zoom.flows.archive_recordings.archive_recordings"
POOL = "zoom-team-pool"
WORKERS = 3
PARTITIONS = 3
PARTITION_DEPLOYMENT = "archive-partition"
FILE_ROUTE_OK = "GET /rec/files/{file_id} 200"
LIMITED_REQUEST = re.compile(r"^[A-Z]+ (/v2/\S*|/rec/download/\S*) \d{3}$")
"""Counter keys of the requests Zoom's rate limits count: API calls and download URLs."""
SUBMITTED_BY = re.compile(r"Worker '([^']+)' submitting flow run")
BUDGET_WARNINGS = ("could not use the Prefect API", "Could not learn the Zoom account")
"""The pack's warnings that a flow run paced alone or by its connection's own key."""


# ---- Prefect objects -----------------------------------------------------------------------
async def create_deployment(block: str) -> str:
    """A process-pool deployment of the archive flow; its id."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"), overwrite=True)
        deployment_id = await pool_deployment(
            client,
            "team-archive",
            {"credentials_block": block, "file_types": ["MP4"], "max_concurrency": 2},
        )
    return str(deployment_id)


async def pool_deployment(client: Any, name: str, parameters: dict[str, Any]) -> UUID:
    """A deployment of the archive flow on the pool (module entrypoint, nothing to pull)."""
    from prefect_zoom.flows import archive_recordings

    flow_id = await client.create_flow(archive_recordings)
    deployment_id: UUID = await client.create_deployment(
        flow_id=flow_id,
        name=name,
        entrypoint=ENTRYPOINT,
        work_pool_name=POOL,
        pull_steps=[],
        parameters=parameters,
    )
    return deployment_id


async def create_partitioned_deployments(block: str, destination: Path) -> str:
    """The deployment the shares run (no concurrency limit) and a parent deployment archiving the
    whole account in ``PARTITIONS`` shares of it; the parent's id."""
    from prefect import get_client

    from prefect_zoom.flows import archive_recordings

    async with get_client() as client:
        await pool_deployment(client, PARTITION_DEPLOYMENT, {"credentials_block": block})
        parent_id = await pool_deployment(
            client,
            "team-partitioned-archive",
            {
                "credentials_block": block,
                "whole_account": True,
                "partitions": PARTITIONS,
                "partition_deployment": f"{archive_recordings.name}/{PARTITION_DEPLOYMENT}",
                "file_types": ["MP4"],
                "max_concurrency": 4,
                "destination": str(destination),
            },
        )
    return str(parent_id)


async def share_runs(parent_flow_run: str) -> list[dict[str, Any]]:
    """The flow runs of the partition deployment: state, users and the worker that ran each."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    async with get_client() as client:
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(any_=[PARTITION_DEPLOYMENT])
            )
        )
        return [
            {
                "state": r.state.type.value if r.state else None,
                "users": len(r.parameters.get("users") or []),
                "worker": await worker_of(client, r.id),
                "under_parent": r.parent_task_run_id is not None,
            }
            for r in runs
        ]


def partitioned_archive(
    base_url: str,
    block: str,
    scratch: Path,
    seeded: list[dict[str, Any]],
    users: int,
    size: int,
    timeout: float,
) -> dict[str, Any]:
    """Step 6: ``users`` more users with one MP4 each, Pro rate limits, one partitioned
    whole-account archive (of those and the ``seeded`` recordings); what it did, and whether it
    passed."""
    seeded = list(seeded)
    for number in range(users):
        email = f"team-user-{number:04d}@example.com"
        httpx.post(
            f"{base_url}/_emulator/users", json={"email": email}, timeout=30
        ).raise_for_status()
        answer = httpx.post(
            f"{base_url}/_emulator/recordings",
            json={
                "user": email,
                "topic": f"user {number}",
                "mp4_bytes": size,
                "file_types": ["MP4"],
            },
            timeout=30,
        )
        seeded.append(answer.raise_for_status().json())
    expected = {f["id"]: f["file_size"] for r in seeded for f in r["files"]}
    httpx.patch(f"{base_url}/_emulator/config", json={"rate_limits": "pro"}, timeout=10)
    httpx.post(f"{base_url}/_emulator/counters/reset", timeout=10).raise_for_status()
    destination = scratch / "partitioned"
    parent_id = asyncio.run(create_partitioned_deployments(block, destination))
    started = time.monotonic()
    (outcome,) = asyncio.run(run_all(parent_id, [destination], timeout))
    seconds = time.monotonic() - started
    counters = httpx.get(f"{base_url}/_emulator/counters", timeout=10).json()
    shares = asyncio.run(share_runs(outcome["flow_run"]))
    landed = {
        p.name.rsplit("_", 1)[-1].split(".")[0]: p
        for p in destination.rglob("*.mp4")
        if not p.name.startswith(".")
    }
    manifest_path = destination / "zoom-archive-manifest.json"
    entries = json.loads(manifest_path.read_text())["files"] if manifest_path.exists() else []
    by_id = {e["file_id"]: e for e in entries}
    wrong = []
    for file_id in sorted(expected.keys() | landed.keys()):
        digest = httpx.get(f"{base_url}/_emulator/files/{file_id}", timeout=30).json()["sha256"]
        path, entry = landed.get(file_id), by_id.get(file_id) or {}
        sha = hashlib.sha256(path.read_bytes()).hexdigest() if path else None
        if not (
            sha == digest == entry.get("sha256") and entry.get("size") == expected.get(file_id)
        ):
            wrong.append({"file_id": file_id, "landed": bool(path), "entry": entry})
    limited = sum(n for key, n in counters.items() if LIMITED_REQUEST.match(key))
    rate_limited = counters.get("rate_limited", 0)
    share_429 = rate_limited / max(limited, 1)
    verified = not wrong and len(entries) == len(expected)
    passed = (
        outcome["state"] == "COMPLETED"
        and verified
        and counters.get(FILE_ROUTE_OK, 0) == len(expected)
        and share_429 < 0.01
        and all(s["state"] == "COMPLETED" and s["under_parent"] for s in shares)
    )
    return {
        "passed": passed,
        "state": outcome["state"],
        "message": outcome["message"],
        "users": users,
        "files": len(expected),
        "files_verified": verified,
        "files_wrong": len(wrong),
        "first_wrong": wrong[:3],
        "files_landed": len(landed),
        "manifest_entries": len(entries),
        "file_downloads": counters.get(FILE_ROUTE_OK, 0),
        "requests_counted_by_rate_limits": limited,
        "rate_limited": rate_limited,
        "share_429": round(share_429, 4),
        "limited_by_route": {k: n for k, n in counters.items() if k.endswith(" 429")},
        "shares": shares,
        "seconds": round(seconds, 1),
    }


async def run_all(deployment_id: str, folders: list[Path], timeout: float) -> list[dict[str, Any]]:
    """Start one flow run per folder at once; wait (bounded) for all to end; their outcomes."""
    from prefect import get_client
    from prefect.client.schemas.objects import StateType

    async with get_client() as client:
        runs = [
            await client.create_flow_run_from_deployment(
                UUID(deployment_id), parameters={"destination": str(folder)}
            )
            for folder in folders
        ]
        deadline = time.monotonic() + timeout
        final = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}
        while True:
            current = [await client.read_flow_run(run.id) for run in runs]
            done = [r for r in current if r.state is not None and r.state.type in final]
            if len(done) == len(runs) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        workers = [await worker_of(client, r.id) for r in current]
    return [
        {
            "flow_run": str(r.id),
            "state": r.state.type.value if r.state else None,
            "message": (r.state.message or "")[:500] if r.state else None,
            "worker": worker,
        }
        for r, worker in zip(current, workers, strict=True)
    ]


async def worker_of(client: Any, flow_run_id: UUID) -> str | None:
    """The worker that started a flow run, from the run's own log ("Worker 'x' submitting ...")."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    for log in logs:
        found = SUBMITTED_BY.search(log.message)
        if found:
            return found.group(1)
    return None


def budget_warnings(scratch: Path) -> dict[str, int]:
    """How often the flow runs' output (in the workers' logs) says a budget was not shared."""
    text = "\n".join(log.read_text(errors="replace") for log in scratch.glob("worker-*.log"))
    return {phrase: text.count(phrase) for phrase in BUDGET_WARNINGS}


def complete_files(folder: Path, size: int) -> int:
    return sum(
        1 for p in folder.rglob("*.mp4") if not p.name.startswith(".") and p.stat().st_size == size
    )


# ---- the scenario --------------------------------------------------------------------------
def scenario(
    runs: int,
    recordings: int,
    size: int,
    ttl: int,
    timeout: float,
    partitioned_users: int,
    partitioned_size: int,
) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="zoom-team-"))
    home = scratch / "prefect-home"
    os.environ.update(prefect_env(home))
    workers: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    try:
        with (
            postgres_cluster() as database_url,
            prefect_server(home, database_url=database_url) as api_url,
            emulator_process(access_token_ttl=ttl) as base_url,
            # Prefect read its settings when it was imported: point this process at the server.
            temporary_settings({PREFECT_API_URL: api_url, PREFECT_HOME: home}),
        ):
            os.environ["PREFECT_API_URL"] = api_url
            seeded: list[dict[str, Any]] = []
            for number in range(recordings):
                answer = httpx.post(
                    f"{base_url}/_emulator/recordings",
                    json={"topic": f"team {number}", "mp4_bytes": size, "file_types": ["MP4"]},
                    timeout=30,
                )
                seeded.append(answer.raise_for_status().json())
            # the plan the partitioned archive's emulator limits to: paced from the first request
            block = save_oauth_block(base_url, ttl, "team-oauth", rate_plan="pro")
            deployment_id = asyncio.run(create_deployment(block))
            for number in range(WORKERS):
                log = (scratch / f"worker-{number}.log").open("wb")
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "prefect",
                            "worker",
                            "start",
                            "--pool",
                            POOL,
                            "--name",
                            f"team-worker-{number}",
                            # a third of the runs each at most, so every worker takes some
                            "--limit",
                            str(-(-runs // WORKERS)),
                        ],
                        env=prefect_env(
                            home,
                            api_url,
                            PREFECT_LOGGING_LEVEL="INFO",
                            PREFECT_WORKER_QUERY_SECONDS="1",
                        ),
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            grants_before = httpx.get(f"{base_url}/_emulator/counters", timeout=10).json()
            folders = [scratch / f"archive-{n}" for n in range(runs)]
            load_started = time.monotonic()
            outcomes = asyncio.run(run_all(deployment_id, folders, timeout))
            load_seconds = time.monotonic() - load_started
            counters = httpx.get(f"{base_url}/_emulator/counters", timeout=10).json()
            from prefect_zoom import ZoomOAuthCredentials

            loaded = ZoomOAuthCredentials.load(block, _sync=True)  # type: ignore[call-arg]
            try:
                with loaded.get_client() as zoom:  # type: ignore[union-attr]
                    still_valid = bool(zoom.get_json("/users/me", operation="get_user")["email"])
            except Exception as exc:
                still_valid = False
                outcomes.append({"connection": f"{type(exc).__name__}: {exc}"[:500]})
            landed = [complete_files(folder, size) for folder in folders]
            started_by = Counter(o["worker"] for o in outcomes if o.get("worker"))
            partitioned = (
                partitioned_archive(
                    base_url, block, scratch, seeded, partitioned_users, partitioned_size, timeout
                )
                if partitioned_users
                else {"passed": True, "skipped": True}
            )
            warned = budget_warnings(scratch)
    finally:
        for worker in workers:
            stop_group(worker)
        shutil.rmtree(scratch, ignore_errors=True)
    refreshes = counters.get("grant refresh_token", 0) - grants_before.get("grant refresh_token", 0)
    states = [o.get("state") for o in outcomes if "state" in o]
    passed = (
        len(states) == runs
        and all(s == "COMPLETED" for s in states)
        and all(n == recordings for n in landed)
        and still_valid
        and len(started_by) == WORKERS
        and partitioned["passed"]
    )
    return {
        "scenario": "team",
        "passed": passed,
        "runs": runs,
        "states": states,
        "files_per_run": landed,
        "expected_files_per_run": recordings,
        "runs_started_by_worker": dict(started_by),
        "connection_still_valid": still_valid,
        "token_ttl": ttl,
        "token_refreshes": refreshes,
        "token_expiries": int(load_seconds // ttl),
        "load_seconds": round(load_seconds, 1),
        "total_seconds": round(time.monotonic() - started, 1),
        "failures": [o for o in outcomes if o.get("state") != "COMPLETED"],
        "budget_warnings": warned,
        "partitioned_archive": partitioned,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=6, help="flow runs started at once")
    parser.add_argument("--recordings", type=int, default=20, help="MP4 files each run archives")
    parser.add_argument("--size", type=int, default=5_000_000, help="bytes per file")
    parser.add_argument("--ttl", type=int, default=3, help="seconds an access token lives")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the runs")
    parser.add_argument(
        "--partitioned-users",
        type=int,
        default=300,
        help="users (one MP4 each) of the partitioned whole-account archive; 0 skips it",
    )
    parser.add_argument(
        "--partitioned-size", type=int, default=200_000, help="bytes per file of that archive"
    )
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    result = scenario(
        args.runs,
        args.recordings,
        args.size,
        args.ttl,
        args.timeout,
        args.partitioned_users,
        args.partitioned_size,
    )
    print(json.dumps(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
