"""What the benchmark runner and the team scenario share: child processes that always end.

The Prefect server helpers live in the package (:mod:`prefect_zoom.local_prefect`, also used by
``make demo``); they are re-exported here with the paths the benchmarks use.
"""

from __future__ import annotations

import signal
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

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
    "exit_cleanly_on_sigterm",
    "free_port",
    "prefect_env",
    "prefect_server",
    "save_oauth_block",
    "stop_group",
]
