"""A connection is never lost: a Prefect server that goes away, and workers killed while renewing.

Real parts only: worker processes (``tests/helpers/shared_connection_worker.py``) share one saved OAuth
connection to the emulator, whose tokens live a second or two and whose refresh tokens rotate like
Zoom's; the Prefect API is a real server (its own database) or the session's. Sizes come from
``ZOOM_CHAOS`` (see ``helpers/chaos.py``). Every wait is bounded; no timing is asserted except the
promised bounds (back within 15 s of the last kill), which are generous against the lock's
seconds-long lease.

Workers are killed with ``SIGKILL`` anywhere but in the one window no client can close: from a
refresh request leaving to Zoom's answer reaching the recovery file. Zoom rotates the refresh
token as it answers and keeps no grace period, so that answer is the connection's only copy
(``docs/zoom-behaviour.md``); a kill that lands there waits the milliseconds until it is on disk
(``helpers/shared_connection_worker.py``, ``--killable``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import pytest
from helpers.chaos import SIZE
from helpers.connections import load_block, oauth_credentials, session_worker_env
from helpers.prefect_server import PREFECT, prefect_env, prefect_server, tail, wait_healthy
from helpers.shared_connection_worker import (
    go,
    kill_outside_the_window,
    start_worker,
    wait_ready,
)

from prefect_zoom import ZoomOAuthCredentials
from zoom_emulator import EmulatorConfig, ZoomEmulator, free_port

BACK_WITHIN_SECONDS = 15.0
"""A new process gets a call through this soon after the last worker was killed."""
SAVE_BLOCK = """
import sys
from prefect_zoom import ZoomOAuthCredentials
block = ZoomOAuthCredentials.model_validate_json(sys.stdin.read())
block.save(sys.argv[1])
"""


def summary_of(worker: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    stdout, stderr = worker.communicate(timeout=timeout)
    print(f"--- worker {worker.pid} stderr (tail) ---\n{stderr[-1500:]}")
    lines = stdout.strip().splitlines()
    assert lines, f"worker exited {worker.returncode} silently\n{stderr[-3000:]}"
    summary: dict[str, Any] = json.loads(lines[-1])
    return summary


def kill(worker: subprocess.Popen[str]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(30)


def kill_all(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        kill(worker)


def save_connection(emulator: ZoomEmulator, name: str, env: dict[str, str], log: Path) -> None:
    """Save an OAuth connection to the emulator as ``name`` on the Prefect API of ``env``."""
    block = oauth_credentials(emulator)
    fields = block.model_dump(mode="json", context={"include_secrets": True})
    subprocess.run(
        [sys.executable, "-c", SAVE_BLOCK, name],
        input=json.dumps(fields),
        env=env,
        text=True,
        check=True,
        timeout=120,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


# ---- workers killed while renewing -------------------------------------------------------------
@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(access_token_ttl=1)


@pytest.mark.slow
def test_workers_killed_while_renewing_never_lose_the_connection(
    zoom_emulator: ZoomEmulator,
) -> None:
    name = f"chaos-kill-{uuid.uuid4().hex[:8]}"
    oauth_credentials(zoom_emulator).save(name)
    env = session_worker_env()
    seed = random.randrange(2**32)
    print(f"random seed of this run: {seed}")
    chooser = random.Random(seed)
    killed = in_the_window = 0
    last_kill = 0.0
    survivor: subprocess.Popen[str] | None = None
    try:
        while killed < SIZE.killed_workers:
            batch = [
                start_worker(name, "threads", 60, 3, env, killable=True)
                for _ in range(min(SIZE.workers_at_once, SIZE.killed_workers - killed))
            ]
            try:
                for worker in batch:
                    wait_ready(worker)
                for worker in batch:
                    go(worker)
                # each one dies at its own random moment: with 1-second tokens, mostly mid-renewal
                for worker in sorted(batch, key=lambda _: chooser.random()):
                    deadline = time.monotonic() + chooser.uniform(0.3, 2.5)
                    while time.monotonic() < deadline and worker.poll() is None:
                        time.sleep(0.01)  # waiting for this worker's random moment of death
                    if survivor is None and killed == SIZE.killed_workers - 1:
                        survivor = start_worker(name, "threads", 3, 2, env)
                        wait_ready(survivor)
                    in_the_window += kill_outside_the_window(worker)
                    killed += 1
                    last_kill = time.monotonic()
            finally:
                for worker in batch:
                    kill(worker)
        print(f"{killed} workers killed; {in_the_window} signalled inside a refresh window")
        assert survivor is not None
        go(survivor)
        went = time.monotonic()
        summary = summary_of(survivor, timeout=120)
    finally:
        if survivor is not None:
            kill(survivor)
    print(json.dumps(summary, indent=1))
    assert summary["failures"] == 0, summary["error_samples"]
    assert summary["first_ok"] is not None
    assert (went - last_kill) + summary["first_ok"] <= BACK_WITHIN_SECONDS, summary
    assert zoom_emulator.state.counters["grant failed"] == 0  # never invalid_grant
    with load_block(ZoomOAuthCredentials, name).get_client() as zoom:
        assert zoom.get_json("/users/me")["email"] == zoom_emulator.config.user_email


# ---- a Prefect server that goes away ---------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not PREFECT.exists(), reason="the prefect CLI is not next to this Python")
def test_a_prefect_server_outage_never_loses_the_connection(tmp_path: Path) -> None:
    """2 processes x 10 callers, 2-second tokens; the server stops, then starts on its database.

    The processes stand for two machines (each its own ``PREFECT_HOME``): a lock only one of them
    could see, or a recovery store shared by both, would not do."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = prefect_env(tmp_path / "prefect-home", api, PREFECT_LOGGING_LEVEL="WARNING")
    logs = {n: tmp_path / f"{n}.log" for n in ("server", "server-again", "setup")}
    name = "zoom-outage"
    settle, after = 5.0, 12.0
    duration = settle + SIZE.outage_seconds + after + 15.0  # 15 s: the orphaned lock freed
    with ExitStack() as stack:
        emulator = stack.enter_context(ZoomEmulator(EmulatorConfig(access_token_ttl=2)))
        workers: list[subprocess.Popen[str]] = []
        stack.callback(kill_all, workers)
        with prefect_server(port, env, logs["server"], cwd=tmp_path) as server:
            wait_healthy(api, server, logs["server"], deadline=120)
            save_connection(emulator, name, env, logs["setup"])
            # two "machines": each process has its own PREFECT_HOME (file lock, recovery store)
            workers.extend(
                start_worker(name, "threads", duration, 10, {**env, "PREFECT_HOME": str(home)})
                for home in (tmp_path / "machine-1", tmp_path / "machine-2")
            )
            for worker in workers:
                wait_ready(worker)
            for worker in workers:
                go(worker)
            started = time.monotonic()
            while time.monotonic() < started + settle:
                assert all(w.poll() is None for w in workers)
                time.sleep(0.2)  # the workers call Zoom through a few renewals
        down_at = time.monotonic()  # `prefect_server` stopped the server (SIGTERM, then its group)
        while time.monotonic() < down_at + SIZE.outage_seconds:
            time.sleep(0.2)  # the outage
        with prefect_server(port, env, logs["server-again"], cwd=tmp_path) as server:
            wait_healthy(api, server, logs["server-again"], deadline=120)
            back_at = time.time()
            summaries = [summary_of(w, timeout=duration + 180) for w in workers]
            print(json.dumps(summaries, indent=1))
            late = [t for s in summaries for t in s["failed_at"] if t >= back_at]
            assert late == [], (
                f"{len(late)} call(s) failed after the server was back: "
                f"{[s['error_samples'] for s in summaries]}\n{tail(logs['server-again'])}"
            )
            assert all(s["last_ok_at"] and s["last_ok_at"] > back_at for s in summaries)
            # A machine that renewed just as the server went down keeps its tokens until it can
            # save them; the other machine, if it takes the lock first, refreshes once with the
            # block's rotated-out token, is refused, and waits for the save (never twice).
            assert emulator.state.counters["grant failed"] <= 1
            # the connection works afterwards, from a new process on the restarted server
            check = start_worker(name, "threads", 1, 1, env)
            workers.append(check)
            wait_ready(check)
            go(check)
            final = summary_of(check, timeout=120)
            assert final["failures"] == 0 and final["calls"] > 0, final
