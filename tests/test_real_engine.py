"""The real engine: a Prefect server, ``prefect deploy --all`` of ``deployments/prefect.yaml``, a
process worker, and the nightly archive run against the emulator, all as separate processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from prefect_zoom.emulator import EmulatorConfig, ZoomEmulator, free_port
from prefect_zoom.flows._manifest import MANIFEST_NAME

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENTS_DIR = ROOT / "deployments"
PREFECT = Path(sys.executable).with_name("prefect")
DEPLOYMENT_NAMES = {"nightly-archive", "weekly-meetings-report", "weekly-users-report"}
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
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


def archived_by_file_id(folder: Path) -> dict[str, Path]:
    """Archived recording files by their Zoom file id (the manifest and hidden files left out)."""
    return {
        p.name.rsplit("_", 1)[1].split(".")[0]: p
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith(".")
    }


@pytest.mark.skipif(not PREFECT.exists(), reason="the prefect CLI is not next to this Python")
def test_deploy_all_and_a_process_worker_archive_the_recordings(tmp_path: Path) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    archive = tmp_path / "archive"
    block = "zoom-real-engine"
    env = prefect_env(
        tmp_path / "prefect-home",
        api,
        ZOOM_CREDENTIALS_BLOCK=block,
        ZOOM_ARCHIVE_DIR=str(archive),
    )
    server_log, cli_log, worker_log = (tmp_path / f"{n}.log" for n in ("server", "cli", "worker"))
    prefect = str(PREFECT)

    with ExitStack() as stack:
        server = stack.enter_context(
            background(
                [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                env,
                server_log,
                cwd=tmp_path,
            )
        )
        emulator = stack.enter_context(
            ZoomEmulator(EmulatorConfig(recordings_per_user=2, recording_bytes=200_000))
        )
        wait_healthy(api, server, server_log, deadline=120)

        config = emulator.config
        fields = {
            "name": block,
            "account_id": config.account_id,
            "client_id": config.s2s_client_id,
            "client_secret": config.s2s_client_secret,
            "api_base_url": emulator.api_url,
            "oauth_base_url": emulator.oauth_url,
        }
        run([sys.executable, "-c", SAVE_BLOCK], env, cli_log, stdin=json.dumps(fields))
        run([prefect, "work-pool", "create", "zoom-pool", "--type", "process"], env, cli_log)
        run([prefect, "--no-prompt", "deploy", "--all"], env, cli_log, cwd=DEPLOYMENTS_DIR)

        deployments = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        by_name = {d["name"]: d for d in deployments}
        assert set(by_name) == DEPLOYMENT_NAMES, tail(cli_log)
        for deployment in deployments:
            assert deployment["parameters"]["credentials_block"] == block
            assert deployment["work_pool_name"] == "zoom-pool"
            assert ":" not in deployment["entrypoint"]
            assert not deployment["pull_steps"]
        assert by_name["nightly-archive"]["parameters"]["destination"] == str(archive)

        output = run(
            [prefect, "deployment", "run", "zoom-archive-recordings/nightly-archive"],
            env,
            cli_log,
        )
        match = UUID.search(output)
        assert match, tail(cli_log)
        flow_run_id = match.group(1)

        worker = stack.enter_context(
            background(
                [prefect, "worker", "start", "--pool", "zoom-pool", "--run-once"],
                env,
                worker_log,
                cwd=tmp_path,
            )
        )
        state = wait_terminal(api, flow_run_id, [worker_log, server_log], deadline=180)
        assert state["type"] == "COMPLETED", f"{state}\n{tail(worker_log)}"

        files = archived_by_file_id(archive)
        assert len(emulator.state.files) >= 2
        assert set(files) == set(emulator.state.files), tail(worker_log)
        for file_id, path in files.items():
            digest = emulator.control("GET", f"files/{file_id}")["sha256"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path.name
        manifest = json.loads((archive / MANIFEST_NAME).read_text())
        assert len(manifest["files"]) == len(files)
        assert all(entry["sha256"] for entry in manifest["files"])

        # --run-once: the worker ends by itself once its run is done
        assert worker.wait(60) == 0, tail(worker_log)

    assert server.returncode is not None, tail(server_log)
    assert not group_alive(server.pid), "a process of the Prefect server is left"
    assert worker.returncode is not None
    assert not group_alive(worker.pid), "a process of the worker is left"
