"""Driving a real Prefect engine from a test: a ``prefect server start``, CLI commands, workers.

Every process runs in its own session with its output in a log file; :func:`background` stops
the whole process group on exit and waits until none of it is left. Polls have deadlines and
fail with the tails of the relevant logs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from prefect_zoom.flows._manifest import MANIFEST_NAME

if TYPE_CHECKING:
    from zoom_emulator import ZoomEmulator

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS_DIR = ROOT / "deployments"
PREFECT = Path(sys.executable).with_name("prefect")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
T = TypeVar("T")
UUID = re.compile(r"UUID: ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")

SAVE_BLOCK = """
import json, sys
from prefect_zoom import ZoomServerToServerCredentials
fields = json.load(sys.stdin)
name = fields.pop("name")
ZoomServerToServerCredentials(**fields).save(name, overwrite=True)
"""


def tail(path: Path, lines: int = 60) -> str:
    """The last lines of a log file, for assertion messages."""
    if not path.exists():
        return f"<{path.name}: no output>"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- {path.name} (last {len(text)} lines) ---\n" + "\n".join(text)


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group ``pgid`` still exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(process: subprocess.Popen[bytes], deadline: float = 20.0) -> None:
    """Terminate a process started in its own session (and its children), kill the group after
    a deadline, reap it, and wait (with a deadline) until none of the group is left."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(deadline)
    if group_alive(process.pid):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(deadline)
    end = time.monotonic() + deadline
    while group_alive(process.pid) and time.monotonic() < end:
        time.sleep(0.05)  # orphaned children of the group, killed above, being reaped


@contextmanager
def background(
    args: Sequence[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session with its output in ``log``; stopped on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(args),
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


def prefect_server(
    port: int, env: dict[str, str], log: Path, cwd: Path
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """A Prefect server on a loopback port in the background, stopped on exit."""
    command = [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    return background(command, env, log, cwd=cwd)


def run(
    args: Sequence[str],
    env: dict[str, str],
    log: Path,
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> str:
    """Run a command to completion; fail the test with its output's tail when it fails."""
    result = subprocess.run(
        list(args),
        env=env,
        cwd=cwd,
        input=stdin.encode() if stdin is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
    )
    output = result.stdout.decode(errors="replace")
    with log.open("a") as out:
        out.write(f"$ {' '.join(args)}\n{output}\n")
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}\n{tail(log)}"
    return output


def wait_healthy(api: str, server: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    """Poll ``/api/health`` until it answers, the server dies, or the deadline passes."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        assert server.poll() is None, f"the Prefect server exited\n{tail(log)}"
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the Prefect server did not answer within {deadline}s\n{tail(log)}")


def wait_terminal(
    api: str, flow_run_id: str, logs: Sequence[Path], deadline: float
) -> dict[str, Any]:
    """Poll the flow run every 0.5 s until it is in a terminal state; return its state."""
    end = time.monotonic() + deadline
    state: dict[str, Any] = {}
    while time.monotonic() < end:
        state = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=10).json()["state"] or {}
        if state.get("type") in TERMINAL:
            return state
        time.sleep(0.5)
    details = "\n".join(tail(log) for log in logs)
    raise AssertionError(f"flow run still {state.get('type')} after {deadline}s\n{details}")


def prefect_env(home: Path, api: str, **extra: str) -> dict[str, str]:
    """This process's environment without its Prefect settings, pointed at the test server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        DO_NOT_TRACK="1",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def deploy_project(
    api: str, env: dict[str, str], emulator: ZoomEmulator, block: str, log: Path
) -> list[dict[str, Any]]:
    """What a team does once: save a Server-to-Server block for the emulator as ``block``, create
    the process pool ``zoom-pool`` and ``prefect deploy --all`` of ``deployments/prefect.yaml``;
    the server's deployments afterwards."""
    config = emulator.config
    fields = {
        "name": block,
        "account_id": config.account_id,
        "client_id": config.s2s_client_id,
        "client_secret": config.s2s_client_secret,
        "api_base_url": emulator.api_url,
        "oauth_base_url": emulator.oauth_url,
    }
    run([sys.executable, "-c", SAVE_BLOCK], env, log, stdin=json.dumps(fields))
    run([str(PREFECT), "work-pool", "create", "zoom-pool", "--type", "process"], env, log)
    run([str(PREFECT), "--no-prompt", "deploy", "--all"], env, log, cwd=DEPLOYMENTS_DIR)
    deployments: list[dict[str, Any]] = httpx.post(
        f"{api}/deployments/filter", json={}, timeout=10
    ).json()
    return deployments


def archived_by_file_id(folder: Path) -> dict[str, Path]:
    """Archived recording files by their Zoom file id (the manifest and hidden files left out)."""
    return {
        p.name.rsplit("_", 1)[1].split(".")[0]: p
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith(".")
    }


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    logs: Sequence[Path],
    deadline: float,
    interval: float = 0.5,
) -> T:
    """Call ``probe`` every ``interval`` seconds until it returns something other than ``None``.

    Fails after ``deadline`` seconds with ``what`` and the tails of ``logs``; a transport error
    of the probe counts as "not yet".
    """
    end = time.monotonic() + deadline
    while True:
        try:
            found = probe()
        except httpx.TransportError:
            found = None
        if found is not None:
            return found
        if time.monotonic() >= end:
            details = "\n".join(tail(log) for log in logs)
            raise AssertionError(f"{what}: not within {deadline}s\n{details}")
        time.sleep(interval)


def wait_http_ok(
    url: str, process: subprocess.Popen[bytes], log: Path, deadline: float
) -> dict[str, Any]:
    """Poll ``GET url`` until it answers 200 (its JSON is returned) or the process dies."""

    def probe() -> dict[str, Any] | None:
        assert process.poll() is None, f"{process.args!r} exited\n{tail(log)}"
        response = httpx.get(url, timeout=2)
        if response.status_code != 200:
            return None
        answer: dict[str, Any] = response.json()
        return answer

    return wait_for(f"{url} answering 200", probe, [log], deadline, interval=0.2)
