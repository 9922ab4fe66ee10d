"""What the benchmark runner and the team scenario share: child processes that always end.

The Prefect server helpers live in the package (:mod:`prefect_zoom.local_prefect`, also used by
``make demo``); they are re-exported here with the paths the benchmarks use.
"""

from __future__ import annotations

from pathlib import Path

from prefect_zoom.emulator.server import free_port
from prefect_zoom.local_prefect import prefect_env, prefect_server, stop_group

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TESTS_DIR = ROOT / "tests"

__all__ = [
    "BENCH_DIR",
    "ROOT",
    "TESTS_DIR",
    "free_port",
    "prefect_env",
    "prefect_server",
    "stop_group",
]
