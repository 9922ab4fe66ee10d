"""Load one saved Zoom connection and call Zoom from many threads or tasks; print a JSON summary.

One process of the shared-connection test and benchmark::

    PREFECT_API_URL=... PREFECT_HOME=... python tests/helpers/shared_connection_worker.py \\
        --block NAME [--kind oauth|s2s] [--duration 20] [--concurrency 25] [--mode threads|asyncio]

With ``--wait-for-go`` it prints ``ready`` once set up and starts when a line arrives on stdin, so
several processes can start together: :func:`run_together` does that from the parent (the test and
the benchmark import it). The last line printed is the JSON summary; the exit code is 1 when any
call failed. With ``--killable`` it kills itself on ``SIGUSR1`` (see :func:`die_outside_the_window`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, cast

from prefect_zoom import ZoomOAuthCredentials, ZoomServerToServerCredentials
from prefect_zoom.blocks._base import ZoomCredentialsBase

KEEP_FAILURE_TIMES = 200
WINDOW_WAIT_SECONDS = 30.0
"""The longest a ``SIGUSR1`` waits for a refresh's answer to reach the recovery file."""
IN_THE_WINDOW = "SIGUSR1 while a refresh's answer is not on disk yet: dying once it is"


class RefreshWindow:
    """Held from the moment a refresh request may leave until Zoom's answer is in the recovery file.

    Zoom rotates the refresh token the moment it answers and keeps no grace period, so a process
    killed inside this window loses the connection, and no client can close it (the answer is the
    only copy; ``docs/zoom-behaviour.md``). One thread of a process renews at a time, so one lock.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: int | None = None

    def enter(self) -> None:
        if self.owner != threading.get_ident():  # a refresh whose answer was never recorded
            self.lock.acquire()
            self.owner = threading.get_ident()

    def leave(self) -> None:
        if self.owner == threading.get_ident():
            self.owner = None
            self.lock.release()


def die_outside_the_window() -> None:
    """On ``SIGUSR1``, kill this process with ``SIGKILL``: at once, or, while a refresh's answer
    is not yet on disk, the moment it is (so the chaos test kills everywhere but that window).

    Test instrumentation: it wraps :meth:`TokenEndpoint.refresh` and :func:`recovery.record`,
    whose real code runs unchanged in between. Only the sync refresh is wrapped: use it with
    ``--mode threads``.
    """
    from prefect_zoom.auth import endpoint, recovery

    window = RefreshWindow()
    send_refresh, write_recovery_file = endpoint.TokenEndpoint.refresh, recovery.record

    def refresh(self: endpoint.TokenEndpoint, refresh_token: str) -> Any:
        window.enter()
        try:
            return send_refresh(self, refresh_token)
        except BaseException:
            window.leave()  # no answer to keep (Zoom's refusals and this emulator's never rotate)
            raise

    def record(key: str, tokens: Any) -> None:
        try:
            write_recovery_file(key, tokens)
        finally:
            window.leave()

    def die(signum: int, frame: object) -> None:
        if not window.lock.acquire(blocking=False):
            print(IN_THE_WINDOW, file=sys.stderr, flush=True)
            window.lock.acquire(timeout=WINDOW_WAIT_SECONDS)  # held until this process dies
        os.kill(os.getpid(), signal.SIGKILL)

    endpoint.TokenEndpoint.refresh = refresh  # type: ignore[method-assign]
    recovery.record = record
    signal.signal(signal.SIGUSR1, die)


class Tally:
    """Calls, failures by kind and latencies, safe to update from threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.errors: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.samples: list[str] = []
        self.started = time.monotonic()
        self.first_ok: float | None = None
        """Seconds from the start to the first answer."""
        self.last_ok_at: float | None = None
        """Wall-clock time (``time.time()``) of the last answer."""
        self.failed_at: list[float] = []
        """Wall-clock times of the last failures (at most ``KEEP_FAILURE_TIMES``)."""

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.calls += 1
            self.latencies.append(seconds)
            self.last_ok_at = time.time()
            if self.first_ok is None:
                self.first_ok = time.monotonic() - self.started

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.calls += 1
            self.errors[type(exc).__name__] += 1
            self.failed_at = [*self.failed_at[-KEEP_FAILURE_TIMES + 1 :], time.time()]
            if len(self.samples) < 5:
                self.samples.append(str(exc)[:500])


def load(kind: str, name: str) -> ZoomCredentialsBase:
    block_class = ZoomOAuthCredentials if kind == "oauth" else ZoomServerToServerCredentials
    block = block_class.load(name, _sync=True)  # type: ignore[call-arg]
    return cast(ZoomCredentialsBase, block)


def run_threads(block: ZoomCredentialsBase, args: argparse.Namespace, tally: Tally) -> None:
    deadline = time.monotonic() + args.duration
    with block.get_client() as zoom:

        def loop() -> None:
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    zoom.get_json(args.path, operation=args.operation)
                except Exception as exc:
                    tally.failed(exc)
                else:
                    tally.ok(time.monotonic() - started)

        threads = [threading.Thread(target=loop) for _ in range(args.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


async def run_tasks(block: ZoomCredentialsBase, args: argparse.Namespace, tally: Tally) -> None:
    deadline = time.monotonic() + args.duration
    async with block.get_async_client() as zoom:

        async def loop() -> None:
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    await zoom.get_json(args.path, operation=args.operation)
                except Exception as exc:
                    tally.failed(exc)
                else:
                    tally.ok(time.monotonic() - started)

        await asyncio.gather(*(loop() for _ in range(args.concurrency)))


def percentile(ordered: list[float], share: float) -> float:
    """The value below which ``share`` of the sorted latencies ``ordered`` lie."""
    return ordered[int(len(ordered) * share) - 1 if len(ordered) > 1 else 0]


def summary(args: argparse.Namespace, tally: Tally, elapsed: float) -> dict[str, Any]:
    latencies = sorted(tally.latencies) or [0.0]
    return {
        "pid": os.getpid(),
        "block": args.block,
        "kind": args.kind,
        "mode": args.mode,
        "concurrency": args.concurrency,
        "duration": args.duration,
        "elapsed": round(elapsed, 3),
        "calls": tally.calls,
        "failures": sum(tally.errors.values()),
        "errors": dict(tally.errors),
        "error_samples": tally.samples,
        "first_ok": None if tally.first_ok is None else round(tally.first_ok, 3),
        "last_ok_at": tally.last_ok_at,
        "failed_at": tally.failed_at,
        "latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 1),
            "p95": round(percentile(latencies, 0.95) * 1000, 1),
            "p99": round(percentile(latencies, 0.99) * 1000, 1),
            "max": round(latencies[-1] * 1000, 1),
        },
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", required=True, help="name of the saved credentials block")
    parser.add_argument("--kind", choices=["oauth", "s2s"], default="oauth")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--concurrency", type=int, default=25, help="concurrent callers")
    parser.add_argument("--mode", choices=["threads", "asyncio"], default="threads")
    parser.add_argument("--path", default="/users/me")
    parser.add_argument("--operation", default="get_user")
    parser.add_argument("--wait-for-go", action="store_true", help="print ready; start on stdin")
    parser.add_argument(
        "--killable",
        action="store_true",
        help="on SIGUSR1, SIGKILL itself (after a refresh's answer is on disk, when one is out)",
    )
    return parser.parse_args(argv)


def start_worker(
    block: str,
    mode: str,
    duration: float,
    concurrency: int,
    env: Mapping[str, str],
    *,
    killable: bool = False,
) -> subprocess.Popen[str]:
    """One worker process in its own session, waiting for ``go`` on stdin (see :func:`go`);
    ``killable``: see :func:`kill_outside_the_window`."""
    return spawn(
        [
            str(Path(__file__).resolve()),
            "--block",
            block,
            "--duration",
            str(duration),
            "--concurrency",
            str(concurrency),
            "--mode",
            mode,
            "--wait-for-go",
            *(["--killable"] if killable else []),
        ],
        env,
    )


def spawn(args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    """``python ARGS`` in its own session, its stdin, stdout and stderr piped as text."""
    return subprocess.Popen(
        [sys.executable, *args],
        env=dict(env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_ready(worker: subprocess.Popen[str]) -> None:
    """Block until the worker has loaded its connection; ``RuntimeError`` if it never does."""
    assert worker.stdout is not None
    line = worker.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"worker not ready: {line!r}\n{_stderr(worker)}")


def kill_outside_the_window(worker: subprocess.Popen[str]) -> bool:
    """Make a worker started ``killable`` die by ``SIGKILL`` (see :func:`die_outside_the_window`);
    returns once it is dead, saying whether the signal came inside the window (it then waited)."""
    with suppress(ProcessLookupError):
        worker.send_signal(signal.SIGUSR1)
    _, stderr = worker.communicate(timeout=WINDOW_WAIT_SECONDS + 30)
    assert worker.returncode == -signal.SIGKILL, f"worker ended {worker.returncode}\n{stderr}"
    return IN_THE_WINDOW in stderr


def go(worker: subprocess.Popen[str]) -> None:
    """Start a ready worker's load."""
    assert worker.stdin is not None
    worker.stdin.write("go\n")
    worker.stdin.flush()


def run_together(
    block: str,
    modes: Sequence[str],
    *,
    duration: float,
    concurrency: int,
    env: Mapping[str, str],
    before_go: Callable[[], None] = lambda: None,
    grace: float = 120,
) -> tuple[list[dict[str, Any]], float]:
    """Start one worker process per mode on the connection ``block``; once every one has loaded
    it and said ``ready``, call ``before_go`` and start them all at once.

    Returns each worker's summary (its ``failures`` count the calls that failed) and the seconds
    from the start to the last answer. Raises ``RuntimeError`` (with the worker's output) when one
    is not ready or ends without a summary, and ``TimeoutExpired`` when one outlives
    ``duration + grace``; every worker's process group is ended either way.
    """
    workers = [start_worker(block, mode, duration, concurrency, env) for mode in modes]
    return start_together(workers, before_go=before_go, timeout=duration + grace)


def start_together(
    workers: Sequence[subprocess.Popen[str]],
    *,
    before_go: Callable[[], None] = lambda: None,
    timeout: float,
) -> tuple[list[dict[str, Any]], float]:
    """Wait until each started worker (``--wait-for-go``) is ready, call ``before_go``, start
    them all at once; their summaries and the seconds to the last one (see :func:`run_together`)."""
    try:
        for worker in workers:
            wait_ready(worker)
        before_go()
        started = time.monotonic()
        for worker in workers:
            go(worker)
        outputs = [worker.communicate(timeout=timeout) for worker in workers]
        elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            with suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    summaries = []
    for worker, (stdout, stderr) in zip(workers, outputs, strict=True):
        lines = stdout.strip().splitlines()
        if not lines:
            raise RuntimeError(f"worker exited {worker.returncode} silently\n{stderr[-2000:]}")
        summaries.append(json.loads(lines[-1]))
    return summaries, elapsed


def _stderr(worker: subprocess.Popen[str]) -> str:
    if worker.poll() is None:
        worker.kill()
    return worker.stderr.read()[-2000:] if worker.stderr else ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.killable:
        die_outside_the_window()
    block = load(args.kind, args.block)
    block.token_manager()  # set up before the clock starts
    if args.wait_for_go:
        print("ready", flush=True)
        sys.stdin.readline()
    tally = Tally()
    started = tally.started = time.monotonic()
    if args.mode == "threads":
        run_threads(block, args, tally)
    else:
        asyncio.run(run_tasks(block, args, tally))
    print(json.dumps(summary(args, tally, time.monotonic() - started)), flush=True)
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
