"""Every benchmark of the pack in one run, each figure a ratio against a baseline of the same run.

Run ``make bench`` (``python benchmarks/run.py``), or ``--quick`` for small sizes (a smoke run),
``--only NAME`` (repeatable) for some of them: ``download``, ``archive-small``,
``archive-large`` (or ``archive`` for both), ``memory``, ``ratelimit``, ``ratelimit-shared``,
``pacing-overhead``, ``refresh``, ``overhead``, ``by-name``, ``cold-submit``,
``cold-submit-sqlite``, ``s3``.

A full run prints a table and writes it to ``benchmarks/RESULTS.md`` with the date, the machine
and the Python version; a quick or partial run only prints it unless ``--output`` is given.

How each figure is made (the emulator always runs in its own process; every timed run starts
after an ``os.sync()``, so none pays for the dirty pages another left):

* **download**: ``download_throughput.py``: the pack's ``download_many`` (threads) vs a minimal
  asyncio + httpx script, 200 files of 1 MB at concurrency 8, best of 5 alternating runs each.

* **archive**: the ``archive_recordings`` flow (``archive-small``: 2,000 files of 1 MB, so a
  run's fixed cost is amortised, target 0.9; ``archive-large``: 20 files of 100 MB, target
  0.95), run in a child process against a Prefect server this runner starts (``prefect server
  start`` on SQLite in a temporary ``PREFECT_HOME``: the cheapest honest setup, as a flow run,
  its task run, logs and artifacts really go through an API; ephemeral mode would start a
  server inside the timed process), vs a minimal asyncio + httpx script downloading the same
  files at the same concurrency. Timed: the flow call inside
  the child (flow run, listing, downloads, manifest, artifacts) vs the script's token request
  and downloads. Best of ``repeats`` (3) alternating runs each. The notes add the same flow in a
  child that first ran one empty flow (Prefect's one-time set-up of a process done),
  Prefect's floor: an async flow of the same shape doing nothing, in a fresh child, the script
  also hashing each file (the SHA-256 the pack records and the script does not), and each
  round's ratio with their median (two shared cores move a best-of-3 ratio by 0.1).
* **memory**: ``download_memory.py``: peak RSS of the pack downloading a 2 GiB recording vs bare
  ``httpx`` streaming it to ``/dev/null``, each in a fresh process (its own high-water mark,
  ``VmHWM``: ``ru_maxrss`` would carry this runner's peak over into the child).
* **s3**: ``archive_s3.py``: the ``archive_recordings`` flow archiving a 2 GiB recording to a
  prefect-aws ``S3Bucket`` on moto's S3 server (its own process), vs boto3's ``upload_file`` of
  the same file staged as the flow stages it, each in a fresh process that warmed up on a
  small file, best of 3 alternating runs: the pack's upload phase (staged file complete to
  object checked) against boto3's upload, and the flow process's absolute peak RSS (its growth
  in the notes).
* **ratelimit**: an emulator on Zoom's Pro limits with 300 users; 12 threads list every user's
  recordings with the client's ``paginate`` (``list_user_recordings``, a Medium endpoint:
  20 req/s). Baseline: the allowed rate. Also shown: the client without pacing.
* **ratelimit-shared**: the same listing by three worker processes
  (``tests/helpers/budget_worker.py``, 4 threads each, a third of the users each) on one
  Server-to-Server connection with ``rate_plan="pro"``, sharing the account's budget through the
  runner's Prefect server. Baseline: the allowed rate. Also shown: the same three processes with
  ``PREFECT_ZOOM_ACCOUNT_BUDGET=off`` (each paces alone to the whole limit).
* **pacing-overhead**: the request path's cost of the account budget
  (``prefect_zoom/client/budget.py``): N requests' slots taken one by one, 60 a second, from a
  budget of 80 a second (Business, Light: Zoom's highest per-second limit) on the Prefect server,
  so the rate never binds and every wait is the budget's own (a batch not there in time); time
  inside ``take()`` and those waits, per request, after the process's first batch (shown apart). Baseline: a bare client's ``get_json`` against the emulator, per call.
* **refresh**: 4 processes x 25 callers for 60 s on one OAuth connection whose tokens live 2 s
  (``tests/helpers/shared_connection_worker.py``): token refreshes vs token expiries in that time.
* **overhead**: inside one flow, N ``get_user`` task calls vs N ``get_json`` calls on one bare
  client (and, for the detail, N calls of the task's function without the task machinery).
* **by-name**: inside one flow, N ``get_user`` task calls by block name: their cost beyond N bare
  ``get_json`` calls, against N calls of an empty task (Prefect's own floor), in 5 alternating
  rounds (the median of the rounds' ratios). The notes add a task of ``get_user``'s shape
  making the same request on the bare client: what the request costs inside any task, so what
  by block name adds.
* **cold-submit**: 100 ``list_recordings`` tasks submitted at once by block name in a child that
  has not used the connection yet (Pro limits, paced), against the same 100 calls on one bare
  paced client: the paced rate. The notes give 100 empty tasks submitted the same way in the same
  process (Prefect's own per-task cost). Measured on a Prefect server backed by PostgreSQL (a
  throwaway cluster, ``benchmarks/_postgres.py``), as a team runs Prefect: the issue it answers
  is a team's. **cold-submit-sqlite** is the same run on the runner's SQLite server, reported
  with no target: there 100 task runs, their tag leases and the budget's slots are written one
  at a time by SQLite, whose busy answers (HTTP 503) Prefect's client waits out for seconds.

The runner starts every server and worker in its own process group and stops them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import httpx
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _postgres import postgres_cluster
from _support import (
    BENCH_DIR,
    TESTS_DIR,
    child_result,
    exit_cleanly_on_sigterm,
    prefect_env,
    prefect_server,
    save_oauth_block,
)

sys.path.insert(0, str(TESTS_DIR))  # the shared-connection worker lives with the tests

from download_throughput import (
    _asyncio_download,
    credentials,
    emulator_process,
    pack_download,
    seed,
)
from helpers.budget_worker import run_workers
from helpers.flows import run_async
from helpers.shared_connection_worker import run_together

RESULTS = BENCH_DIR / "RESULTS.md"
ALL = (
    "download",
    "archive-small",
    "archive-large",
    "memory",
    "ratelimit",
    "ratelimit-shared",
    "pacing-overhead",
    "refresh",
    "overhead",
    "by-name",
    "cold-submit",
    "cold-submit-sqlite",
    "s3",
)
NEEDS_PREFECT = set(ALL) - {"download", "memory", "ratelimit"}
"""The benchmarks that start a Prefect server (the others need only the emulator)."""
MEDIUM_LIMIT = 20.0  # Pro plan, requests per second (docs/zoom-behaviour.md, "Rate limits")


@dataclass
class Row:
    """One line of the results table."""

    name: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None  # None: reported, no target
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "INFO" if self.passed is None else ("PASS" if self.passed else "FAIL")


@dataclass
class Context:
    """What the benchmarks share: the mode, a scratch folder and the Prefect server."""

    quick: bool
    scratch: Path
    home: Path
    api_url: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        return prefect_env(self.home, self.api_url, **extra)


# ---- child processes ---------------------------------------------------------------------------
def run_child(ctx: Context, mode: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``run.py --child MODE`` against the Prefect server; its last JSON line."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, json.dumps(payload)]
    return child_result(command, what=f"child {mode}", env=ctx.env(), timeout=timeout)


async def _first_flow_of_the_process() -> None:
    """(child) One empty flow run with one task: Prefect's one-time set-up of the process (its
    lazy imports, API clients and background workers) happens here, not in the timed run."""
    from prefect import flow, task

    @task
    def nothing() -> None:
        return None

    @flow(name="zoom-bench-warm-up")
    async def warm_up() -> None:
        nothing()

    await warm_up()


def child_empty_flow(payload: dict[str, Any]) -> dict[str, Any]:
    """(child) Prefect's floor: seconds of an async flow shaped like the archive (two tasks, a
    progress, a table and a markdown artifact) that does nothing, in a fresh process."""
    from prefect import flow, task
    from prefect.artifacts import (
        acreate_markdown_artifact,
        acreate_table_artifact,
        create_progress_artifact,
    )

    @task(tags=("recordings",))
    def listing() -> list[int]:
        return []

    @task(tags=("recordings",))
    def downloading(jobs: list[int]) -> dict[str, int]:
        create_progress_artifact(progress=100.0, key="zoom-bench-empty-progress")
        return {}

    @flow(name="zoom-bench-empty")
    async def empty() -> None:
        downloading(listing())
        await acreate_table_artifact(key="zoom-bench-empty-files", table=[{"file": "none"}])
        await acreate_markdown_artifact(key="zoom-bench-empty-summary", markdown="nothing")

    started = time.perf_counter()
    asyncio.run(empty())
    return {"seconds": time.perf_counter() - started}


def child_archive(payload: dict[str, Any]) -> dict[str, Any]:
    """(child) One ``archive_recordings`` flow run; seconds of the flow call."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from prefect_zoom.flows import archive_recordings
    from prefect_zoom.flows._archive import archive_files

    if payload.get("warm"):
        asyncio.run(_first_flow_of_the_process())
    started = time.perf_counter()
    state = run_async(
        archive_recordings(
            payload["block"],
            destination=payload["destination"],
            file_types=["MP4"],
            max_concurrency=payload["concurrency"],
            return_state=True,
        )
    )
    seconds = time.perf_counter() - started
    report = state.result()
    with get_client(sync_client=True) as prefect:
        run = prefect.read_flow_run(state.state_details.flow_run_id)  # type: ignore[arg-type]
        tasks = prefect.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        )
    downloading = [t for t in tasks if t.name.startswith(archive_files.name)]
    return {
        "seconds": seconds,
        "running_seconds": run.total_run_time.total_seconds(),
        "download_task_seconds": sum(t.total_run_time.total_seconds() for t in downloading),
        "downloaded": report.count("downloaded", "resumed"),
        "failed": report.count("failed"),
    }


def child_overhead(payload: dict[str, Any]) -> dict[str, Any]:
    """(child) N get_user task calls vs the task's function vs a bare client, in one flow."""
    from prefect import flow

    from prefect_zoom.tasks._common import load_credentials
    from prefect_zoom.tasks.users import get_user

    block, calls = payload["block"], payload["calls"]

    @flow(name="zoom-bench-overhead")
    def overhead() -> dict[str, float]:
        get_user(block)  # warm-up: the first task run sets up Prefect's clients
        started = time.perf_counter()
        for _ in range(calls):
            get_user(block)
        task_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(calls):
            get_user.fn(block)
        fn_seconds = time.perf_counter() - started
        with load_credentials(block).get_client() as zoom:
            zoom.get_json("/users/me", operation="get_user")
            started = time.perf_counter()
            for _ in range(calls):
                zoom.get_json("/users/me", operation="get_user")
            bare_seconds = time.perf_counter() - started
        return {"task": task_seconds, "fn": fn_seconds, "bare": bare_seconds}

    return overhead()


def child_by_name(payload: dict[str, Any]) -> dict[str, Any]:
    """(child) Per call, in one flow, in alternating rounds: get_user by block name as a task, an
    empty task, the same request on a bare client, and a task of get_user's shape (parameters,
    tags, returned model) making that request on the bare client."""
    from prefect import flow, task

    from prefect_zoom.models import User
    from prefect_zoom.tasks._common import load_credentials
    from prefect_zoom.tasks.users import get_user

    block, calls, rounds = payload["block"], payload["calls"], payload["rounds"]

    @task
    def empty() -> None:
        return None

    def timed(call: Callable[[], object]) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            call()
        return (time.perf_counter() - started) / calls

    @flow(name="zoom-bench-by-name")
    def by_name() -> dict[str, list[float]]:
        with load_credentials(block).get_client() as zoom:

            def request() -> dict[str, Any]:
                return zoom.get_json("/users/me", operation="get_user")

            @task(name="bare request", tags=get_user.tags, cache_policy=get_user.cache_policy)
            def bare_request(credentials: str, user_id: str = "me") -> User:
                return User.model_validate(request())

            # warm-up: Prefect's clients, the process's connection and its token, the pool
            get_user(block), empty(), request(), bare_request(block)
            times: dict[str, list[float]] = {"task": [], "empty": [], "bare": [], "shaped": []}
            for _ in range(rounds):
                times["task"].append(timed(lambda: get_user(block)))
                times["empty"].append(timed(empty))
                times["bare"].append(timed(request))
                times["shaped"].append(timed(lambda: bare_request(block)))
        return times

    return by_name()


def child_cold_submit(payload: dict[str, Any]) -> dict[str, Any]:
    """(child) 100 list_recordings tasks submitted at once by block name in a process that has
    not used the connection yet; then as many empty tasks submitted at once (Prefect's own
    per-task cost) and the same calls on a bare paced client (the paced rate)."""
    from prefect import flow, task

    from prefect_zoom.client.pacing import PACERS
    from prefect_zoom.tasks.recordings import list_recordings

    block, users = payload["block"], payload["users"]
    os.environ["PREFECT_ZOOM_RATE_PLAN"] = "pro"  # the tasks' and the bare client's pacing
    asyncio.run(_first_flow_of_the_process())  # Prefect's own set-up, not the connection's

    @flow(name="zoom-bench-cold-submit")
    def submit_all() -> tuple[float, int]:
        started = time.perf_counter()
        futures = [list_recordings.submit(block, user_id=user) for user in users]
        failed = sum(1 for future in futures if not _ok(future))
        return time.perf_counter() - started, failed

    @task(tags=list_recordings.tags)  # Prefect takes a concurrency slot per tag and task run
    def empty(user: str) -> str:
        return user

    @flow(name="zoom-bench-cold-submit-empty")
    def submit_empty() -> float:
        started = time.perf_counter()
        futures = [empty.submit(user) for user in users]
        assert all(_ok(future) for future in futures)
        return time.perf_counter() - started

    tasks_seconds, failed = submit_all()
    empty_seconds = submit_empty()  # after the Zoom tasks: whatever it warms favours neither
    PACERS.clear()
    time.sleep(1.1)  # a fresh rate window at the emulator
    bare_seconds = _paced_bare_calls(payload["base_url"], users)
    return {"tasks": tasks_seconds, "failed": failed, "bare": bare_seconds, "empty": empty_seconds}


def _ok(future: Any) -> bool:
    """The submitted task's result, waited for: True when it ended without an error."""
    try:
        future.result()
    except Exception:
        return False
    return True


def _paced_bare_calls(base_url: str, users: list[str]) -> float:
    """Seconds for one list call per user, all at once on one bare client (paced by the plan)."""
    today = datetime.now(UTC).date()
    params = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    with credentials(base_url).get_client() as zoom:
        zoom.tokens.get_token()

        def one(user: str) -> None:
            zoom.get_json(
                f"/users/{user}/recordings", params=params, operation="list_user_recordings"
            )

        threads = [threading.Thread(target=one, args=(user,)) for user in users]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        return time.perf_counter() - started


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "archive": child_archive,
    "by-name": child_by_name,
    "cold-submit": child_cold_submit,
    "empty": child_empty_flow,
    "overhead": child_overhead,
}


# ---- archive throughput ------------------------------------------------------------------------
def _save_s2s_block(base_url: str) -> str:
    name = f"bench-{uuid.uuid4().hex[:10]}"
    credentials(base_url).save(name, overwrite=True)
    return name


def _count_files(folder: Path, size: int) -> int:
    return sum(
        1
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.suffix == ".mp4"
        if p.stat().st_size == size
    )


def bench_archive(ctx: Context, files: int, size: int, repeats: int, goal: float) -> Row:
    concurrency = 8
    timings: dict[str, float] = {}
    rounds: list[float] = []  # each round's flow seconds / script seconds
    with emulator_process() as base_url:
        entries = seed(base_url, files, size)
        block = _save_s2s_block(base_url)
        for _ in range(repeats):
            folder = Path(tempfile.mkdtemp(prefix="zoom-bench-flow-", dir=ctx.scratch))
            try:
                os.sync()  # each timed run starts with no dirty pages left by the one before
                outcome = run_child(
                    ctx,
                    "archive",
                    {"block": block, "destination": str(folder), "concurrency": concurrency},
                    timeout=900,
                )
                landed = _count_files(folder, size)
                if outcome["downloaded"] != files or outcome["failed"] or landed != files:
                    raise RuntimeError(f"archive flow: {outcome}, {landed} files landed")
                # The same flow again: everything is already archived; its time is the fixed cost.
                again = run_child(
                    ctx,
                    "archive",
                    {"block": block, "destination": str(folder), "concurrency": concurrency},
                    timeout=900,
                )
                if again["downloaded"]:
                    raise RuntimeError(f"the rerun downloaded {again['downloaded']} files")
                timings["rerun"] = min(again["seconds"], timings.get("rerun", float("inf")))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            if outcome["seconds"] < timings.get("flow", float("inf")):
                timings["flow"] = outcome["seconds"]
                timings["running"] = outcome["running_seconds"]
                timings["download_task"] = outcome["download_task_seconds"]

            # The same flow in a process that already ran one (empty) flow.
            folder = Path(tempfile.mkdtemp(prefix="zoom-bench-warm-", dir=ctx.scratch))
            try:
                os.sync()
                warm = run_child(
                    ctx,
                    "archive",
                    {
                        "block": block,
                        "destination": str(folder),
                        "concurrency": concurrency,
                        "warm": True,
                    },
                    timeout=900,
                )
                if warm["downloaded"] != files or warm["failed"]:
                    raise RuntimeError(f"archive flow (warm process): {warm}")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            timings["warm"] = min(warm["seconds"], timings.get("warm", float("inf")))
            empty = run_child(ctx, "empty", {}, timeout=300)
            timings["empty"] = min(empty["seconds"], timings.get("empty", float("inf")))

            seconds = _timed_script(ctx, base_url, entries, size, concurrency)
            timings["asyncio"] = min(seconds, timings.get("asyncio", float("inf")))
            rounds.append(outcome["seconds"] / seconds)
            # For the notes: the script also hashing each file (what the pack must do).
            hashing = _timed_script(ctx, base_url, entries, size, concurrency, checksum=True)
            timings["hashing"] = min(hashing, timings.get("hashing", float("inf")))

            # For the notes: the pack's downloader alone (no flow, no Prefect), same files.
            folder = Path(tempfile.mkdtemp(prefix="zoom-bench-pack-", dir=ctx.scratch))
            try:
                os.sync()
                seconds = pack_download(base_url, entries, folder, concurrency)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            timings["download_many"] = min(seconds, timings.get("download_many", float("inf")))
    flow_rate = files / timings["flow"]
    base_rate = files / timings["asyncio"]
    ratio = flow_rate / base_rate
    mb = size / 1e6
    return Row(
        name=f"archive throughput, {files} x {mb:g} MB",
        measured=f"flow {flow_rate:.1f} files/s ({timings['flow']:.2f} s)",
        baseline=f"asyncio+httpx {base_rate:.1f} files/s ({timings['asyncio']:.2f} s)",
        ratio=ratio,
        target=f">= {goal}",
        passed=ratio >= goal,
        notes=[
            f"concurrency {concurrency}, best of {repeats} alternating runs; "
            f"flow {files * mb / timings['flow']:.0f} MB/s, "
            f"asyncio {files * mb / timings['asyncio']:.0f} MB/s",
            f"where the time goes: the pack's downloader alone (`download_many`, no flow) "
            f"{timings['download_many']:.2f} s (ratio {timings['asyncio'] / timings['download_many']:.3f}); "
            f"the same flow run again with nothing left to download (its fixed cost) "
            f"{timings['rerun']:.2f} s",
            f"Prefect's own record of the best run: RUNNING for {timings['running']:.2f} s of the "
            f"{timings['flow']:.2f} s call (the rest is creating and ending the flow run), the "
            f"download task RUNNING for {timings['download_task']:.2f} s of them (the rest: "
            f"listing, manifest, report, artifacts, the tasks' starts)",
            f"in a process that already ran one empty flow (Prefect's one-time set-up done): "
            f"{timings['warm']:.2f} s (ratio {timings['asyncio'] / timings['warm']:.3f})",
            f"Prefect's floor: the same shape of async flow doing nothing (two tasks, three "
            f"artifacts), in a fresh process, takes {timings['empty']:.2f} s; the target leaves "
            f"the flow {timings['asyncio'] / goal - timings['asyncio']:.2f} s more than the script",
            f"the script does less per file than the pack must: no SHA-256 (the pack records "
            f"each file's); the script hashing each file as it comes took "
            f"{timings['hashing']:.2f} s ({timings['asyncio'] / timings['hashing']:.3f} of the "
            f"plain script; the flow {timings['hashing'] / timings['flow']:.3f} of it)",
            f"ratio of each alternating round (script / flow): "
            f"{', '.join(f'{1 / r:.3f}' for r in rounds)}; median "
            f"{1 / statistics.median(rounds):.3f}",
            f"the most the best run could reach with its download task (it hashes every byte) "
            f"and Prefect's floor, were everything else free: script / (download task + empty "
            f"flow) = {timings['asyncio'] / (timings['download_task'] + timings['empty']):.3f}",
        ],
    )


def _timed_script(
    ctx: Context,
    base_url: str,
    entries: list[dict[str, Any]],
    size: int,
    concurrency: int,
    checksum: bool = False,
) -> float:
    """Seconds of the asyncio + httpx script (its token request and downloads), files checked."""
    folder = Path(tempfile.mkdtemp(prefix="zoom-bench-asyncio-", dir=ctx.scratch))
    try:
        os.sync()
        started = time.perf_counter()
        with credentials(base_url).get_client() as zoom:
            token = zoom.tokens.get_token()
        asyncio.run(
            _asyncio_download(base_url, entries, folder, concurrency, token, checksum=checksum)
        )
        seconds = time.perf_counter() - started
        if len([p for p in folder.iterdir() if p.stat().st_size == size]) != len(entries):
            raise RuntimeError("asyncio baseline: wrong files")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return seconds


# ---- the downloader alone ----------------------------------------------------------------------
def bench_download(ctx: Context) -> Row:
    import download_throughput

    files = 60 if ctx.quick else 200
    result = download_throughput.run(files, 1_000_000, 8, 2 if ctx.quick else 5)
    return Row(
        name=f"downloader, {files} x 1 MB",
        measured=f"`download_many` {result['pack_files_per_s']} files/s",
        baseline=f"asyncio+httpx {result['asyncio_files_per_s']} files/s",
        ratio=result["ratio"],
        target=">= 0.8",
        passed=result["ratio"] >= 0.8,
        notes=[
            f"concurrency 8, best of {result['repeats']} alternating runs each "
            f"({result['pack_seconds']} s vs {result['asyncio_seconds']} s); "
            f"median against median: {result['median_ratio']}"
        ],
    )


# ---- memory ------------------------------------------------------------------------------------
def bench_memory(ctx: Context) -> Row:
    import download_memory

    size = 256 * 1024**2 if ctx.quick else 2 * 1024**3
    result = download_memory.run(size)
    pack_mb = result["pack_peak_kib"] / 1024
    bare_mb = result["httpx_peak_kib"] / 1024
    ratio = pack_mb / bare_mb
    ok = pack_mb < 150 and bool(result["sha256_ok"]) and bool(result["size_ok"])
    return Row(
        name=f"peak memory, {size / 1024**3:g} GiB download",
        measured=f"pack peak RSS {pack_mb:.0f} MB",
        baseline=f"httpx to /dev/null {bare_mb:.0f} MB",
        ratio=ratio,
        target="< 150 MB peak",
        passed=ok,
        notes=[
            f"growth during the download: pack {result['pack_growth_kib'] / 1024:.1f} MB, "
            f"httpx {result['httpx_growth_kib'] / 1024:.1f} MB; "
            f"pack {result['pack_mib_per_s']} MiB/s, httpx {result['httpx_mib_per_s']} MiB/s; "
            f"SHA-256 matches: {result['sha256_ok']}"
        ],
    )


# ---- archive to S3 ------------------------------------------------------------------------------
def bench_s3(ctx: Context) -> Row:
    import archive_s3

    size = 256 * 1024**2 if ctx.quick else 2 * 1024**3
    result = archive_s3.run(size, ctx.env(), repeats=1 if ctx.quick else 3)
    peak_mb = result["pack_peak_kib"] / 1024
    ratio = result["ratio"]
    ok = all(result[check] for check in ("status_ok", "size_ok", "sha256_ok"))
    name = f"archive to S3 (moto), {size / 1024**3:g} GiB recording"
    measured = f"flow's upload {result['pack_upload_mib_per_s']} MiB/s, peak RSS {peak_mb:.0f} MB"
    baseline = f"boto3 `upload_file` {result['boto3_mib_per_s']} MiB/s"
    notes = [
        f"peak RSS (absolute, the highest of the runs): the flow's process {peak_mb:.0f} MB, "
        f"{result['pack_growth_kib'] / 1024:.0f} MB above its peak after a warm-up archive of "
        f"a small file ({result['pack_baseline_kib'] / 1024:.0f} MB); boto3 alone "
        f"{result['boto3_peak_kib'] / 1024:.0f} MB (+{result['boto3_growth_kib'] / 1024:.0f} MB)",
        f"best of {result['repeats']} alternating runs each, upload seconds "
        f"{result['all_upload_seconds']} (median against median: {result['median_ratio']}); "
        f"the best pack run's whole flow call (download "
        f"from the emulator, upload, check, manifest) {result['pack_seconds']} s",
        f"object sizes, and the SHA-256 of the object and of the manifest entry against the "
        f"emulator's, match: {result['size_ok']}, {result['sha256_ok']}",
    ]
    passed = ratio >= 0.8 and peak_mb < 200 and ok
    return Row(name, measured, baseline, ratio, ">= 0.8, < 200 MB peak", passed, notes)


# ---- rate limits -------------------------------------------------------------------------------
def _list_everyone(base_url: str, user_ids: list[str], threads: int, policy: Any) -> dict[str, Any]:
    """Every user's recordings, ``threads`` at a time; calls, failures, seconds and counters."""
    import logging

    from prefect_zoom.client.pacing import PACERS

    logging.getLogger("prefect_zoom.client").setLevel(logging.ERROR)  # no line per 429
    PACERS.clear()
    today = datetime.now(UTC).date()
    params = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    work: Queue[str] = Queue()
    for user_id in user_ids:
        work.put(user_id)
    failures: list[str] = []
    meetings = [0]
    guard = threading.Lock()
    with credentials(base_url).get_client(policy=policy) as zoom:
        zoom.tokens.get_token()
        time.sleep(1.1)  # a fresh rate window, whatever ran before
        httpx.post(f"{base_url}/_emulator/counters/reset", timeout=10).raise_for_status()

        def loop() -> None:
            while True:
                try:
                    user_id = work.get_nowait()
                except Empty:
                    return
                try:
                    found = list(
                        zoom.paginate(
                            f"/users/{user_id}/recordings",
                            "meetings",
                            params=params,
                            operation="list_user_recordings",
                        )
                    )
                except Exception as exc:
                    with guard:
                        failures.append(f"{type(exc).__name__}: {exc}"[:200])
                else:
                    with guard:
                        meetings[0] += len(found)

        workers = [threading.Thread(target=loop) for _ in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(600)
        seconds = time.perf_counter() - started
    counters = httpx.get(f"{base_url}/_emulator/counters", timeout=10).json()
    answered = {k: v for k, v in counters.items() if k.startswith("GET /v2/users/")}
    ok = sum(v for k, v in answered.items() if k.endswith(" 200"))
    PACERS.clear()
    return {
        "seconds": seconds,
        "ok": ok,
        "requests": sum(answered.values()),
        "rate_limited": counters.get("rate_limited", 0),
        "failures": failures,
        "failed": len(failures),
        "meetings": meetings[0],
    }


def bench_ratelimit(ctx: Context) -> Row:
    from prefect_zoom.client import RetryPolicy

    users = 60 if ctx.quick else 300
    threads = 12
    with emulator_process(
        rate_limits="pro", seed_users=users, recordings_per_user=1, recording_bytes=1000
    ) as base_url:
        state = httpx.get(f"{base_url}/_emulator/state", timeout=30).json()
        user_ids = [u["id"] for u in state["users"]]
        reactive = _list_everyone(
            base_url, user_ids, threads, RetryPolicy(rate_plan=None, learn_rate_limits=False)
        )
        learned = _list_everyone(base_url, user_ids, threads, RetryPolicy(rate_plan=None))
        paced = _list_everyone(base_url, user_ids, threads, RetryPolicy(rate_plan="pro"))

    describe = _describe_rate
    notes = [
        f"{len(user_ids)} users, {threads} threads, list_user_recordings (Medium, Pro: 20 req/s)",
        f"paced (rate_plan='pro'): {describe(paced)}",
        f"learned from the first 429 (default policy): {describe(learned)}",
        f"no pacing (reacting to 429 only): {describe(reactive)}",
    ]
    runs = {"paced": paced, "learned": learned, "no pacing": reactive}
    return _rate_row("rate-limit efficiency (Pro, Medium)", paced, notes, runs)


def _describe_rate(run: dict[str, Any]) -> str:
    """A listing run in words: rate, share of the limit, requests, 429s, failed calls."""
    rate = run["ok"] / run["seconds"]
    share = 100 * run["rate_limited"] / max(1, run["requests"])
    return (
        f"{rate:.1f} req/s ({rate / MEDIUM_LIMIT:.0%} of the limit), {run['requests']} "
        f"requests, {run['rate_limited']} 429s ({share:.1f} %), "
        f"{run['failed']} failed calls in {run['seconds']:.1f} s"
    )


def _rate_row(
    name: str, run: dict[str, Any], notes: list[str], runs: dict[str, dict[str, Any]]
) -> Row:
    """The row of a rate-limit benchmark measured by ``run`` (``runs``: every run, whose
    failures are noted)."""
    rate = run["ok"] / run["seconds"]
    ratio = rate / MEDIUM_LIMIT
    limited_share = run["rate_limited"] / max(1, run["requests"])
    for label, each in runs.items():
        if each["failures"]:
            notes.append(f"{label} failures, e.g. {each['failures'][0]}")
    return Row(
        name=name,
        measured=f"{rate:.1f} req/s, {run['rate_limited']} 429s ({limited_share:.1%}), "
        f"{run['failed']} failed",
        baseline=f"allowed {MEDIUM_LIMIT:g} req/s",
        ratio=ratio,
        target=">= 0.9, 429s < 1 %, 0 failed",
        passed=ratio >= 0.9 and limited_share < 0.01 and run["failed"] == 0,
        notes=notes,
    )


def _three_workers(ctx: Context, base_url: str, user_ids: list[str], **env: str) -> dict[str, Any]:
    """Three worker processes list a third of the users each on one connection with
    ``rate_plan="pro"``; requests, 429s, failures and seconds (the slowest worker's)."""
    name = f"bench-{uuid.uuid4().hex[:10]}"
    credentials(base_url).model_copy(update={"rate_plan": "pro"}).save(name, overwrite=True)

    def fresh_window() -> None:
        time.sleep(1.1)  # a fresh rate window, whatever ran before
        httpx.post(f"{base_url}/_emulator/counters/reset", timeout=10).raise_for_status()

    jobs = [["--users", ",".join(user_ids[k::3]), "--threads", "4"] for k in range(3)]
    summaries, _ = run_workers(name, jobs, ctx.env(**env), before_go=fresh_window, timeout=900)
    counters = httpx.get(f"{base_url}/_emulator/counters", timeout=10).json()
    answered = {k: v for k, v in counters.items() if k.startswith("GET /v2/users/")}
    return {
        "seconds": max(s["elapsed"] for s in summaries),
        "ok": sum(v for k, v in answered.items() if k.endswith(" 200")),
        "requests": sum(answered.values()),
        "rate_limited": counters.get("rate_limited", 0),
        "failures": [text for s in summaries for text in s["error_samples"]],
        "failed": sum(s["failures"] for s in summaries),
        "fallbacks": [text for s in summaries for text in s["fallbacks"]],
    }


def bench_ratelimit_shared(ctx: Context) -> Row:
    users = 60 if ctx.quick else 300
    with emulator_process(
        rate_limits="pro", seed_users=users, recordings_per_user=1, recording_bytes=1000
    ) as base_url:
        state = httpx.get(f"{base_url}/_emulator/state", timeout=30).json()
        user_ids = [u["id"] for u in state["users"]]
        shared = _three_workers(ctx, base_url, user_ids)
        alone = _three_workers(ctx, base_url, user_ids, PREFECT_ZOOM_ACCOUNT_BUDGET="off")

    if shared["fallbacks"]:
        shared["failures"].append(f"{len(shared['fallbacks'])} fallbacks: {shared['fallbacks'][0]}")
    notes = [
        f"{len(user_ids)} users, 3 processes x 4 threads, list_user_recordings (Medium, Pro: "
        "20 req/s), one Server-to-Server connection with rate_plan='pro'",
        f"account budget (Prefect rate limit): {_describe_rate(shared)}",
        f"each process pacing alone (PREFECT_ZOOM_ACCOUNT_BUDGET=off): {_describe_rate(alone)}",
    ]
    name = "rate-limit efficiency, 3 processes (Pro, Medium)"
    return _rate_row(name, shared, notes, {"budget": shared, "alone": alone})


def bench_pacing_overhead(ctx: Context) -> Row:
    from prefect_zoom.catalog import RateLabel
    from prefect_zoom.client.budget import AccountBudget

    requests = 200 if ctx.quick else 1000
    # Business Light, Zoom's highest per-second limit (80); taken at 60 a second, under it
    budget = AccountBudget(f"bench-{uuid.uuid4().hex[:8]}", RateLabel.LIGHT, rate=80.0)
    started = time.perf_counter()
    while (wait := budget.take()) > 0:  # the first batch: Prefect's client and the limit made
        time.sleep(wait)
    first = time.perf_counter() - started
    inside = waited = 0.0
    waits = 0
    for _ in range(requests):
        while True:
            started = time.perf_counter()
            wait = budget.take()
            inside += time.perf_counter() - started
            if wait <= 0:
                break
            waits += 1
            waited += wait
            time.sleep(wait)
        time.sleep(1 / 60)  # the request itself
    with emulator_process() as base_url, credentials(base_url).get_client() as zoom:
        zoom.get_json("/users/me", operation="get_user")
        calls = 100 if ctx.quick else 300
        started = time.perf_counter()
        for _ in range(calls):
            zoom.get_json("/users/me", operation="get_user")
        bare = (time.perf_counter() - started) / calls
    per_request = (inside + waited) / requests
    return Row(
        name=f"account budget overhead, {requests} requests",
        measured=f"{per_request * 1000:.3f} ms/request on the request path",
        baseline=f"bare get_json {bare * 1000:.2f} ms/call",
        ratio=per_request / bare,
        target="< 1 ms/request",
        passed=per_request < 0.001,
        notes=[
            f"inside take(): {inside / requests * 1e6:.0f} us/request; waits for a batch: "
            f"{waits} ({waited * 1000:.0f} ms in all); the first batch of the process (not "
            f"counted: Prefect's client started, the limit created) took {first:.2f} s; one Prefect "
            f"round trip per {budget.batch} requests, in the budget's own thread; a budget of "
            "80 requests/s (Business, Light), taken 60 times a second"
        ],
    )


# ---- refresh single-flight ---------------------------------------------------------------------
def bench_refresh(ctx: Context) -> Row:
    ttl = 2
    duration = 10.0 if ctx.quick else 60.0
    with emulator_process(access_token_ttl=ttl) as base_url:
        block = save_oauth_block(base_url, ttl, "bench-oauth")
        before: dict[str, int] = {}
        summaries, elapsed = run_together(
            block,
            ["threads", "asyncio", "threads", "asyncio"],
            duration=duration,
            concurrency=25,
            env=ctx.env(),
            before_go=lambda: before.update(
                httpx.get(f"{base_url}/_emulator/counters", timeout=10).json()
            ),
            grace=180,
        )
        after = httpx.get(f"{base_url}/_emulator/counters", timeout=10).json()
    calls = sum(s["calls"] for s in summaries)
    failures = sum(s["failures"] for s in summaries)
    refreshes = after.get("grant refresh_token", 0) - before.get("grant refresh_token", 0)
    # Tokens expire while the callers call: the longest worker's own load time (the wall time
    # `elapsed` also holds process start-up and the last answers).
    loaded = max(s["elapsed"] for s in summaries)
    expiries = int(loaded // ttl)
    ratio = refreshes / max(1, expiries)
    errors: dict[str, int] = {}
    for s in summaries:
        for kind, count in s["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    p99 = max(s["latency_ms"]["p99"] for s in summaries)
    slowest = max(s["latency_ms"]["max"] for s in summaries)
    return Row(
        name=f"refresh single-flight, 4 procs x 25 callers, {duration:g} s",
        measured=f"{refreshes} refreshes, {failures} failed of {calls} calls; "
        f"p99 {p99:.0f} ms, max {slowest:.0f} ms (slowest process)",
        baseline=f"{expiries} token expiries ({loaded:.1f} s / {ttl} s)",
        ratio=ratio,
        target="refreshes <= expiries + 1, 0 failed, p99 < 500 ms, max < 3 s",
        passed=refreshes <= expiries + 1 and failures == 0 and p99 < 500 and slowest < 3000,
        notes=[
            f"expiries are counted over the longest worker's load ({loaded:.1f} s: {duration:g} s "
            f"of new calls, then the answers still in flight); over the {duration:g} s alone "
            f"there are {int(duration // ttl)}",
            f"{calls / loaded:.0f} calls/s in all ({elapsed:.1f} s wall); latency per process, "
            "p95 / p99 / max (ms): "
            + ", ".join(
                f"{s['latency_ms']['p95']} / {s['latency_ms']['p99']} / {s['latency_ms']['max']}"
                for s in summaries
            )
            + (f"; errors: {errors}" if errors else "")
            + (
                f"; a call was still in flight {loaded - duration:.0f} s after the {duration:g} s "
                "of new calls (a stalled request), which stretches the expiries counted"
                if loaded - duration > 5
                else ""
            ),
        ],
    )


# ---- task overhead -----------------------------------------------------------------------------
def bench_overhead(ctx: Context) -> Row:
    calls = 10 if ctx.quick else 50
    with emulator_process() as base_url:
        block = _save_s2s_block(base_url)
        result = run_child(ctx, "overhead", {"block": block, "calls": calls}, timeout=600)
    ratio = result["task"] / result["bare"]
    per = 1000 / calls
    return Row(
        name=f"task overhead, {calls} get_user calls",
        measured=f"as tasks {result['task'] * per:.1f} ms/call",
        baseline=f"bare client {result['bare'] * per:.1f} ms/call",
        ratio=ratio,
        target="(reported)",
        passed=None,
        notes=[
            f"the task's function without Prefect's task machinery (loads the block, new "
            f"client each call): {result['fn'] * per:.1f} ms/call; all inside one flow run"
        ],
    )


# ---- one connection per process ----------------------------------------------------------------
def bench_by_name(ctx: Context) -> Row:
    calls, rounds = (10, 2) if ctx.quick else (50, 5)
    with emulator_process() as base_url:
        block = _save_s2s_block(base_url)
        payload = {"block": block, "calls": calls, "rounds": rounds}
        result = run_child(ctx, "by-name", payload, timeout=600)
    ms = {key: [seconds * 1000 for seconds in result[key]] for key in result}
    ratios = [(t - b) / e for t, b, e in zip(ms["task"], ms["bare"], ms["empty"], strict=True)]
    ratio = statistics.median(ratios)
    task, bare, empty, shaped = (
        statistics.median(ms[key]) for key in ("task", "bare", "empty", "shaped")
    )
    pack = statistics.median(t - s for t, s in zip(ms["task"], ms["shaped"], strict=True))
    measured = f"{task - bare:.1f} ms/call beyond the bare call ({task:.1f} - {bare:.1f})"
    name = f"an activity by block name, {calls} get_user calls"
    baseline = f"empty task {empty:.1f} ms/call"
    notes = [
        f"all inside one flow run, after one warm-up call of each; {rounds} alternating rounds "
        f"of {calls} calls of each, medians (ratio: the median of the rounds' ratios, "
        f"{', '.join(f'{r:.2f}' for r in ratios)})",
        f"where the time goes: a task of get_user's shape (parameters, tags, a User returned) "
        f"making the same request on the bare client takes {shaped:.1f} ms/call: inside a "
        f"task the request costs more than outside ({bare:.1f} ms), as Prefect's own threads "
        "for the task run (events, logs, states) work in the process meanwhile; get_user by block "
        f"name against that task: {pack:+.1f} ms/call (the connection from the process's "
        "registry, a lent client, the catalog's checks)",
    ]
    return Row(name, measured, baseline, ratio, "<= 2", ratio <= 2, notes)


def bench_cold_submit(ctx: Context, postgres: bool) -> Row:
    """100 tasks submitted in a cold process; on a PostgreSQL-backed Prefect server of its own
    (``postgres``, the target) or on the runner's SQLite one (reported)."""
    if not postgres:
        return _cold_submit_row(ctx, database="SQLite", target=False)
    home = ctx.scratch / "prefect-home-postgres"
    with (
        postgres_cluster() as database_url,
        prefect_server(home, database_url=database_url) as api_url,
        temporary_settings({PREFECT_API_URL: api_url, PREFECT_HOME: home}),
    ):
        on_postgres = Context(quick=ctx.quick, scratch=ctx.scratch, home=home, api_url=api_url)
        return _cold_submit_row(on_postgres, database="PostgreSQL", target=True)


def _cold_submit_row(ctx: Context, database: str, target: bool) -> Row:
    count = 100
    with emulator_process(rate_limits="pro", seed_users=count) as base_url:
        state = httpx.get(f"{base_url}/_emulator/state", timeout=30).json()
        users = [u["id"] for u in state["users"]][:count]
        block = _save_s2s_block(base_url)
        result = run_child(
            ctx,
            "cold-submit",
            {"block": block, "users": users, "base_url": base_url},
            timeout=900,
        )
        counters = httpx.get(f"{base_url}/_emulator/counters", timeout=10).json()
    rate, paced = len(users) / result["tasks"], len(users) / result["bare"]
    ratio = rate / paced
    name = (
        f"{len(users)} list_recordings tasks submitted in a cold process (Pro, paced), "
        f"Prefect on {database}"
    )
    measured = f"{rate:.1f} req/s, {result['failed']} failed"
    notes = [
        "timed from the first submit to the last result, in a process whose only earlier "
        "flow run was an empty one (Prefect's own set-up); the block is loaded and the "
        f"token fetched inside; bare: {len(users)} threads, one client, the same calls",
        f"token grants in all: {counters.get('grant account_credentials', 0)} (the tasks' "
        "connection and the bare client: 2 when the tasks renewed once)",
        f"Prefect's own share: {len(users)} empty tasks with the same tags, submitted the same "
        f"way in the same process, took {result['empty']:.2f} s "
        f"({len(users) / result['empty']:.1f} tasks/s); the Zoom tasks {result['tasks']:.2f} s, "
        f"the bare paced calls {result['bare']:.2f} s",
    ]
    baseline = f"bare paced client {paced:.1f} req/s"
    if not target:
        return Row(name, measured, baseline, ratio, "(reported)", None, notes)
    passed = ratio >= 0.8 and result["failed"] == 0
    return Row(name, measured, baseline, ratio, ">= 0.8, 0 failed", passed, notes)


# ---- the table ---------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.platform(),
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
    }


def render_markdown(rows: list[Row], info: dict[str, str], mode: str) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"* date: {info['date']}",
        f"* machine: `{info['machine']}`, {info['cpus']} CPUs",
        f"* Python {info['python']}",
        f"* run: `python benchmarks/run.py{mode}`",
        "* Prefect: a `prefect server start` (SQLite) started by the runner; flows run in child "
        "processes against it (cold-submit: a second server on a throwaway PostgreSQL cluster). "
        "The emulator runs in its own process.",
        "",
        "Every ratio is measured against a baseline of the same run.",
        "",
        "| benchmark | measured | baseline | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = "n/a" if row.ratio is None else f"{row.ratio:.3f}"
        lines.append(
            f"| {row.name} | {row.measured} | {row.baseline} | {ratio} | {row.target} | "
            f"**{row.verdict}** |"
        )
    lines += ["", "## Notes", ""]
    for row in rows:
        for note in row.notes:
            lines.append(f"* {row.name}: {' '.join(note.split())}")
    return "\n".join(lines) + "\n"


def print_table(rows: list[Row], info: dict[str, str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"prefect-zoom benchmarks, {info['date']}, {info['cpus']} CPUs, "
        f"Python {info['python']}"
    )
    for column in ("benchmark", "measured", "baseline", "ratio", "target", "result"):
        table.add_column(column, overflow="fold")
    for row in rows:
        style = {"PASS": "green", "FAIL": "red", "INFO": "cyan"}[row.verdict]
        table.add_row(
            row.name,
            row.measured,
            row.baseline,
            "n/a" if row.ratio is None else f"{row.ratio:.3f}",
            row.target,
            f"[{style}]{row.verdict}[/{style}]",
        )
    console = Console(width=max(160, shutil.get_terminal_size().columns))
    console.print(table)
    for row in rows:
        for note in row.notes:
            console.print(f"  [dim]{row.name}:[/dim] {note}", highlight=False)


# ---- main --------------------------------------------------------------------------------------
def selected(only: list[str] | None) -> list[str]:
    if not only:
        return list(ALL)
    names: list[str] = []
    for name in only:
        expanded = ["archive-small", "archive-large"] if name == "archive" else [name]
        for item in expanded:
            if item not in ALL:
                raise SystemExit(
                    f"unknown benchmark {item!r}; use one of archive, {', '.join(ALL)}"
                )
            if item not in names:
                names.append(item)
    return names


def run_all(names: list[str], quick: bool) -> list[Row]:
    scratch = Path(tempfile.mkdtemp(prefix="zoom-bench-"))
    home = scratch / "prefect-home"
    # Every child uses the private Prefect home (this process: see temporary_settings below).
    os.environ.update(prefect_env(home))
    ctx = Context(quick=quick, scratch=scratch, home=home)
    rows: list[Row] = []
    jobs: dict[str, Callable[[], Row]] = {
        "archive-small": lambda: bench_archive(
            ctx, 60 if quick else 2000, 1_000_000, 1 if quick else 3, goal=0.9
        ),
        "archive-large": lambda: bench_archive(
            ctx,
            4 if quick else 20,
            (20 if quick else 100) * 1_000_000,
            1 if quick else 3,
            goal=0.95,
        ),
        "download": lambda: bench_download(ctx),
        "memory": lambda: bench_memory(ctx),
        "ratelimit": lambda: bench_ratelimit(ctx),
        "ratelimit-shared": lambda: bench_ratelimit_shared(ctx),
        "pacing-overhead": lambda: bench_pacing_overhead(ctx),
        "refresh": lambda: bench_refresh(ctx),
        "overhead": lambda: bench_overhead(ctx),
        "by-name": lambda: bench_by_name(ctx),
        "cold-submit": lambda: bench_cold_submit(ctx, postgres=True),
        "cold-submit-sqlite": lambda: bench_cold_submit(ctx, postgres=False),
        "s3": lambda: bench_s3(ctx),
    }
    try:
        if NEEDS_PREFECT & set(names):
            with (
                prefect_server(home) as api_url,
                # Prefect read its settings when it was imported: point this process at it.
                temporary_settings({PREFECT_API_URL: api_url, PREFECT_HOME: home}),
            ):
                ctx.api_url = api_url
                os.environ["PREFECT_API_URL"] = api_url
                for name in names:
                    rows.append(_guarded(name, jobs[name]))
        else:
            for name in names:
                rows.append(_guarded(name, jobs[name]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def _guarded(name: str, job: Callable[[], Row]) -> Row:
    """Run one benchmark; a crash becomes a FAIL row (the others still run)."""
    print(f"running {name} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        row = job()
    except Exception as exc:
        row = Row(name, "crashed", "-", None, "-", False, [f"{type(exc).__name__}: {exc}"[:2000]])
    print(f"  {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this one")
    parser.add_argument("--output", type=Path, help="write the markdown table here")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("payload", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # a flow run in a child process (see run_child)
        print(json.dumps(CHILDREN[args.child](json.loads(args.payload or "{}"))), flush=True)
        return 0
    exit_cleanly_on_sigterm()
    names = selected(args.only)
    rows = run_all(names, args.quick)
    info = machine()
    print_table(rows, info)
    flags = (" --quick" if args.quick else "") + "".join(f" --only {n}" for n in args.only or [])
    output = args.output or (None if (args.quick or args.only) else RESULTS)
    if output is not None:
        output.write_text(render_markdown(rows, info, flags))
        print(f"written to {output}")
    return 1 if any(row.measured == "crashed" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
