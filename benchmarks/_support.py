"""What the benchmark runner and the team scenario share: child processes that always end.

The Prefect server helpers live in the package (:mod:`prefect_zoom.local_prefect`, also used by
``make demo``); they are re-exported here with the paths the benchmarks use.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prefect_zoom.local_prefect import prefect_env, prefect_server, stop_group
from zoom_emulator.server import free_port

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TESTS_DIR = ROOT / "tests"


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM raise ``SystemExit``, so the ``finally`` blocks that stop the emulator, the
    Prefect server and the child processes run (by default SIGTERM ends Python without them)."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)


def child_result(
    command: list[str],
    *,
    what: str,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run ``command`` in its own process group and return the JSON object on the last line of
    its output. The group is stopped when the call returns, however it returns; a failure, an
    empty output or ``timeout`` raises ``RuntimeError`` naming ``what`` (with stderr's tail)."""
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(process)
        raise RuntimeError(f"{what} did not finish within {timeout:.0f} s") from None
    finally:
        stop_group(process, grace=2)
    lines = stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"{what} failed ({process.returncode}):\n{stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def save_oauth_block(base_url: str, ttl: int, prefix: str, rate_plan: str | None = None) -> str:
    """An OAuth connection authorized through the emulator's pages (tokens living ``ttl`` s,
    the account's ``rate_plan`` if given), saved as a block named ``<prefix>-<random>``; its
    name."""
    sys.path.insert(0, str(TESTS_DIR))
    from helpers.connections import oauth_credentials

    from zoom_emulator import EmulatorConfig

    shim = SimpleNamespace(
        config=EmulatorConfig(access_token_ttl=ttl),
        base_url=base_url,
        api_url=f"{base_url}/v2",
        oauth_url=f"{base_url}/oauth",
    )
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    block = oauth_credentials(shim)  # type: ignore[arg-type]
    block.model_copy(update={"rate_plan": rate_plan}).save(name, overwrite=True)
    return name


__all__ = [
    "BENCH_DIR",
    "ROOT",
    "TESTS_DIR",
    "child_result",
    "exit_cleanly_on_sigterm",
    "free_port",
    "prefect_env",
    "prefect_server",
    "save_oauth_block",
    "stop_group",
]
