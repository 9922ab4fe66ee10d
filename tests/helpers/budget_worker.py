"""One worker process of the account-budget test and benchmark: on a saved Server-to-Server
connection (or, with ``--by-name``, any connection served by name as tasks get it), list the
recordings of its share of the users, a few threads at a time, create meetings for one host,
or update one meeting through the ``update_meeting`` task; print a JSON summary.

    PREFECT_API_URL=... python tests/helpers/budget_worker.py --block NAME --users ID,ID,... \\
        [--threads 4] [--create-meetings N --host ID] [--update-meeting ID --updates N] \\
        [--by-name] --wait-for-go

It prints ``ready`` once its connection is loaded and starts on a line on stdin
(:func:`run_workers` starts several at once). The last line is the summary: calls, and failures
by kind with a few messages.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.shared_connection_worker import Tally, load, spawn, start_together
from prefect_zoom.client import ZoomClient
from prefect_zoom.connections import CONNECTIONS
from prefect_zoom.tasks import update_meeting


def list_recordings(zoom: ZoomClient, users: Sequence[str], threads: int, tally: Tally) -> None:
    """Every user's recordings of the last 30 days, ``threads`` users at a time."""
    today = datetime.now(UTC).date()
    window = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}

    def one(user: str) -> None:
        started = time.monotonic()
        try:
            path = f"/users/{user}/recordings"
            list(zoom.paginate(path, "meetings", params=window, operation="list_user_recordings"))
        except Exception as exc:
            tally.failed(exc)
        else:
            tally.ok(time.monotonic() - started)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, users))


def create_meetings(zoom: ZoomClient, host: str, count: int, tally: Tally) -> None:
    """Create ``count`` meetings for ``host`` one by one."""
    for number in range(count):
        try:
            zoom.request(
                "POST",
                f"/users/{host}/meetings",
                operation="create_meeting",
                json={"topic": f"budget {number}", "type": 1},
            )
        except Exception as exc:
            tally.failed(exc)
        else:
            tally.ok(0.0)


def update_one_meeting(block: str, meeting_id: int, count: int, tally: Tally) -> None:
    """Rename meeting ``meeting_id`` ``count`` times with the task (its function, no run)."""
    for number in range(count):
        try:
            update_meeting.fn(block, meeting_id, {"topic": f"budget update {number}"})
        except Exception as exc:
            tally.failed(exc)
        else:
            tally.ok(0.0)


class Warnings(logging.Handler):
    """The client's warnings, kept for the summary (the budget's fallback is one)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:300])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", required=True)
    parser.add_argument("--users", default="", help="comma-separated user ids to list")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--create-meetings", type=int, default=0)
    parser.add_argument("--host", default="me")
    parser.add_argument("--update-meeting", type=int, default=0)
    parser.add_argument("--updates", type=int, default=0)
    parser.add_argument("--by-name", action="store_true", help="the connection tasks get by name")
    parser.add_argument("--wait-for-go", action="store_true")
    args = parser.parse_args(argv)
    warnings = Warnings()
    logging.getLogger("prefect_zoom.client").addHandler(warnings)
    client = (
        CONNECTIONS.get(args.block).client if args.by_name else load("s2s", args.block).get_client
    )
    with client() as zoom:
        zoom.tokens.get_token()  # connected before the clock starts
        if args.wait_for_go:
            print("ready", flush=True)
            sys.stdin.readline()
        tally = Tally()
        started = tally.started = time.monotonic()
        if args.create_meetings:
            create_meetings(zoom, args.host, args.create_meetings, tally)
        elif args.updates:
            update_one_meeting(args.block, args.update_meeting, args.updates, tally)
        else:
            list_recordings(zoom, [u for u in args.users.split(",") if u], args.threads, tally)
        elapsed = time.monotonic() - started
    summary = {
        "calls": tally.calls,
        "failures": sum(tally.errors.values()),
        "errors": dict(tally.errors),
        "error_samples": tally.samples,
        "fallbacks": [m for m in warnings.messages if "could not use the Prefect API" in m],
        "elapsed": round(elapsed, 3),
    }
    print(json.dumps(summary), flush=True)
    return 0


def run_workers(
    block: str,
    jobs: Sequence[Sequence[str]],
    env: Mapping[str, str],
    *,
    before_go: Callable[[], None] = lambda: None,
    timeout: float = 300,
) -> tuple[list[dict[str, Any]], float]:
    """One worker per job (its extra arguments), started together once all are ready; their
    summaries and the seconds from the start to the last one's end."""
    script = Path(__file__).resolve()
    workers = [spawn([str(script), "--block", block, *job, "--wait-for-go"], env) for job in jobs]
    return start_together(workers, before_go=before_go, timeout=timeout)


if __name__ == "__main__":
    sys.exit(main())
