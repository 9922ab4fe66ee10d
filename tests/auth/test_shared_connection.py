"""One Zoom connection shared by threads, tasks and processes, with tokens that live 2 seconds.

Zoom rotates refresh tokens and keeps only the newest access token of a user alive, so every
caller refreshing on its own would knock the others out and burn the connection. These tests
check that nobody fails and the connection is refreshed about once per expiry in total.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
import uuid

import pytest
from helpers.connections import load_block, oauth_credentials, session_worker_env
from helpers.shared_connection_worker import run_together

from prefect_zoom import ZoomOAuthCredentials
from zoom_emulator import EmulatorConfig, ZoomEmulator

TTL = 2


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(access_token_ttl=TTL)


def most_refreshes(elapsed: float, margin: int = 3) -> int:
    """Renewal is due at 99 % of a token's life: about one refresh per expiry, plus a margin."""
    return math.ceil(elapsed / TTL / 0.99) + margin


def test_threads_and_tasks_share_one_connection(zoom_emulator: ZoomEmulator) -> None:
    name = f"shared-inproc-{uuid.uuid4().hex[:8]}"
    oauth_credentials(zoom_emulator).save(name)
    block = load_block(ZoomOAuthCredentials, name)
    duration = 6.0
    failures: list[BaseException] = []
    calls = [0]
    guard = threading.Lock()
    deadline = time.monotonic() + duration

    def record(exc: BaseException | None) -> None:
        with guard:
            calls[0] += 1
            if exc is not None:
                failures.append(exc)

    def thread_loop() -> None:
        with block.get_client() as zoom:
            while time.monotonic() < deadline:
                try:
                    zoom.get_json("/users/me", operation="get_user")
                except Exception as exc:
                    record(exc)
                else:
                    record(None)

    async def task_loop() -> None:
        async with block.get_async_client() as zoom:
            while time.monotonic() < deadline:
                try:
                    await zoom.get_json("/users/me", operation="get_user")
                except Exception as exc:
                    record(exc)
                else:
                    record(None)

    async def tasks() -> None:
        await asyncio.gather(*(task_loop() for _ in range(10)))

    started = time.monotonic()
    threads = [threading.Thread(target=thread_loop) for _ in range(10)]
    threads.append(threading.Thread(target=lambda: asyncio.run(tasks())))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    elapsed = time.monotonic() - started

    assert failures == [], failures[:3]
    assert calls[0] > 50
    refreshes = zoom_emulator.state.counters["grant refresh_token"]
    assert 1 <= refreshes <= most_refreshes(elapsed), (refreshes, elapsed)


@pytest.mark.slow
def test_four_processes_share_one_connection(zoom_emulator: ZoomEmulator) -> None:
    name = f"shared-procs-{uuid.uuid4().hex[:8]}"
    oauth_credentials(zoom_emulator).save(name)
    env = session_worker_env()
    duration = 20.0
    grants_before: list[int] = []
    summaries, elapsed = run_together(
        name,
        ["threads", "asyncio", "threads", "asyncio"],
        duration=duration,
        concurrency=25,
        env=env,
        before_go=lambda: grants_before.append(zoom_emulator.state.counters["grant refresh_token"]),
    )
    print(json.dumps(summaries, indent=1))

    total_calls = sum(s["calls"] for s in summaries)
    assert sum(s["failures"] for s in summaries) == 0
    assert total_calls > 200
    refreshes = zoom_emulator.state.counters["grant refresh_token"] - grants_before[0]
    print(f"{total_calls} calls, {refreshes} refreshes in {elapsed:.1f} s (tokens live {TTL} s)")
    assert 1 <= refreshes <= most_refreshes(elapsed), (refreshes, elapsed)

    # the connection still works: a fresh client from the saved block
    with load_block(ZoomOAuthCredentials, name).get_client() as zoom:
        assert zoom.get_json("/users/me")["email"] == zoom_emulator.config.user_email
