"""A local Prefect server in a child process: for the demo, the benchmarks and the tests.

* :func:`prefect_server`: ``prefect server start`` in its own process group, on a free loopback
  port, with a private ``PREFECT_HOME`` (SQLite there unless a database URL is given); stopped
  with its whole group when the ``with`` block ends.
* :func:`prefect_env`: the environment a child process needs to talk to that server.
* :func:`stop_group`: SIGTERM, then SIGKILL, to one process group started here (never by name).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx


def stop_group(process: subprocess.Popen[bytes] | subprocess.Popen[str], grace: float = 10) -> None:
    """End a child started with ``start_new_session=True`` and everything it started."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with suppress(ProcessLookupError, PermissionError):  # the group may outlive its leader
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(10)


def prefect_env(home: Path, api_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child process using the private Prefect home (and server)."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        **extra,
    }
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


@contextmanager
def prefect_server(
    home: Path, *, database_url: str | None = None, timeout: float = 180
) -> Iterator[str]:
    """A Prefect server for the duration of the block; yields its API URL."""
    from zoom_emulator import free_port  # the demo, benchmarks and tests run the emulator too

    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    extra = {"PREFECT_API_DATABASE_CONNECTION_URL": database_url} if database_url else {}
    env = prefect_env(home, **extra)
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                tail = (home / "server.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the Prefect server exited:\n{tail}")
            try:
                if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start within {timeout:.0f} s")
            time.sleep(0.25)
        yield api_url
    finally:
        stop_group(process)
        log.close()
