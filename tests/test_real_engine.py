"""The real engine: a Prefect server, ``prefect deploy --all`` of ``deployments/prefect.yaml``, a
process worker, and the nightly archive run against the emulator, all as separate processes.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import ExitStack
from pathlib import Path

import pytest
from helpers.prefect_server import (
    PREFECT,
    UUID,
    archived_by_file_id,
    background,
    deploy_project,
    group_alive,
    prefect_env,
    prefect_server,
    run,
    tail,
    wait_healthy,
    wait_terminal,
)

from prefect_zoom.flows._manifest import MANIFEST_NAME
from zoom_emulator import EmulatorConfig, ZoomEmulator, free_port

pytestmark = pytest.mark.slow

DEPLOYMENT_NAMES = {
    "nightly-archive",
    "weekly-meetings-report",
    "weekly-users-report",
    "watch-zoom",
    "archive-on-recording-completed",
    "weekly-attendance-report",
    "attendance-on-meeting-ended",
    "archive-partition",
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
        server = stack.enter_context(prefect_server(port, env, server_log, cwd=tmp_path))
        emulator = stack.enter_context(
            ZoomEmulator(EmulatorConfig(recordings_per_user=2, recording_bytes=200_000))
        )
        wait_healthy(api, server, server_log, deadline=120)

        deployments = deploy_project(api, env, emulator, block, cli_log)
        by_name = {d["name"]: d for d in deployments}
        assert set(by_name) == DEPLOYMENT_NAMES, tail(cli_log)
        for deployment in deployments:
            assert deployment["parameters"]["credentials_block"] == block
            assert deployment["work_pool_name"] == "zoom-pool"
            assert ":" not in deployment["entrypoint"]
            assert not deployment["pull_steps"]
        assert by_name["nightly-archive"]["parameters"]["destination"] == str(archive)

        output = run(
            [prefect, "deployment", "run", "Zoom: archive recordings/nightly-archive"],
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
