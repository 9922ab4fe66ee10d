"""End to end: a Zoom webhook starts a deployment that archives the new recording.

Every piece is real and separate: a ``prefect server start`` (SQLite, its own PREFECT_HOME),
``prefect deploy --all`` of ``deployments/prefect.yaml``, a long-running process worker, the
``prefect-zoom webhook serve`` receiver, and the emulator (in this process) playing Zoom::

    POST /_emulator/recordings ─▶ signed recording.completed ─▶ receiver ─▶ Prefect event
    zoom.recording.completed ─▶ trigger of archive-on-recording-completed ─▶ flow run ─▶ worker
    ─▶ files in ZOOM_ARCHIVE_DIR, byte-identical to Zoom's
"""

from __future__ import annotations

import hashlib
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from helpers.prefect_server import (
    PREFECT,
    TERMINAL,
    archived_by_file_id,
    background,
    deploy_project,
    group_alive,
    prefect_env,
    prefect_server,
    tail,
    wait_for,
    wait_healthy,
    wait_http_ok,
)

from prefect_zoom.flows._manifest import MANIFEST_NAME
from zoom_emulator import EmulatorConfig, ZoomEmulator, free_port

pytestmark = pytest.mark.slow

PREFECT_ZOOM = Path(sys.executable).with_name("prefect-zoom")
DEPLOYMENT = "archive-on-recording-completed"
FLOW = "Zoom: archive meeting recordings"


@pytest.mark.skipif(
    not (PREFECT.exists() and PREFECT_ZOOM.exists()),
    reason="the prefect and prefect-zoom commands are not next to this Python",
)
def test_a_recording_completed_webhook_archives_the_recording(tmp_path: Path) -> None:
    port, receiver_port = free_port(), free_port()
    api = f"http://127.0.0.1:{port}/api"
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    archive = tmp_path / "archive"
    block = "zoom-event-archive"
    env = prefect_env(
        tmp_path / "prefect-home",
        api,
        ZOOM_CREDENTIALS_BLOCK=block,
        ZOOM_ARCHIVE_DIR=str(archive),
        PREFECT_WORKER_QUERY_SECONDS="1",  # pick the triggered run up quickly
    )
    logs = {n: tmp_path / f"{n}.log" for n in ("server", "cli", "worker", "receiver")}
    prefect = str(PREFECT)

    with ExitStack() as stack:
        server = stack.enter_context(prefect_server(port, env, logs["server"], cwd=tmp_path))
        # no seeded recordings: the archive must hold exactly the recording the webhook announces
        emulator = stack.enter_context(
            ZoomEmulator(EmulatorConfig(recordings_per_user=0, recording_bytes=200_000))
        )
        wait_healthy(api, server, logs["server"], deadline=120)

        deployments = deploy_project(api, env, emulator, block, logs["cli"])
        # the watcher would report the same recording by polling (its own event, another run):
        # a team uses the receiver or the watcher (docs/polling.md), so it is paused here
        (watcher,) = [d for d in deployments if d["name"] == "watch-zoom"]
        httpx.post(
            f"{api}/deployments/{watcher['id']}/pause_deployment", timeout=10
        ).raise_for_status()
        (deployment,) = [d for d in deployments if d["name"] == DEPLOYMENT]
        # its address "<flow name>/<deployment name>", colon and spaces included, finds it
        by_address = httpx.get(f"{api}/deployments/name/{quote(FLOW)}/{DEPLOYMENT}", timeout=10)
        assert by_address.status_code == 200 and by_address.json()["id"] == deployment["id"]
        assert deployment["parameters"]["credentials_block"] == block
        assert deployment["parameters"]["destination"] == str(archive)
        automations = httpx.post(f"{api}/automations/filter", json={}, timeout=10).json()
        owned = [
            a
            for a in automations
            if a["actions"][0].get("deployment_id") == deployment["id"] and a["enabled"]
        ]
        assert len(owned) == 1, json.dumps(automations, indent=1)
        assert owned[0]["trigger"]["expect"] == ["zoom.recording.completed"]

        worker = stack.enter_context(
            background(
                [prefect, "worker", "start", "--pool", "zoom-pool"],
                env,
                logs["worker"],
                cwd=tmp_path,
            )
        )
        secret = emulator.config.webhook_secret_token
        receiver_env = {**env, "ZOOM_WEBHOOK_SECRET_TOKEN": secret}
        receiver = stack.enter_context(
            background(
                [
                    str(PREFECT_ZOOM),
                    "webhook",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(receiver_port),
                    "--log-level",
                    "warning",
                ],
                receiver_env,
                logs["receiver"],
                cwd=tmp_path,
            )
        )
        wait_http_ok(f"{receiver_url}/health", receiver, logs["receiver"], deadline=60)

        # subscribe: the emulator sends the URL validation challenge, the receiver answers it
        subscribed = httpx.put(
            f"{emulator.base_url}/_emulator/webhook",
            json={"url": f"{receiver_url}/zoom/webhook"},
            timeout=15,
        )
        assert subscribed.status_code == 200, f"{subscribed.text}\n{tail(logs['receiver'])}"

        created = emulator.control(
            "POST", "recordings", json={"topic": "Archived on event", "mp4_bytes": 300_000}
        )
        sent = emulator.control("GET", "webhook/deliveries", params={"wait": 10}, timeout=15)
        completed = [d for d in sent["deliveries"] if d["event"] == "recording.completed"]
        assert len(completed) == 1 and completed[0]["delivered"], json.dumps(sent, indent=1)

        def emitted() -> dict[str, Any] | None:
            health: dict[str, Any] = httpx.get(f"{receiver_url}/health", timeout=5).json()
            assert health["emit_failed"] == 0, f"{health}\n{tail(logs['receiver'])}"
            return health if health["emitted"] == 1 else None

        wait_for("the receiver emitting the Prefect event", emitted, [logs["receiver"]], 30)

        def triggered_run() -> dict[str, Any] | None:
            runs: list[dict[str, Any]] = httpx.post(
                f"{api}/flow_runs/filter",
                json={"deployments": {"id": {"any_": [deployment["id"]]}}},
                timeout=10,
            ).json()
            assert len(runs) <= 1, [r["name"] for r in runs]
            if runs and (runs[0]["state"] or {}).get("type") in TERMINAL:
                return runs[0]
            return None

        flow_run = wait_for(
            f"a terminal run of {DEPLOYMENT}",
            triggered_run,
            [logs["worker"], logs["server"], logs["receiver"]],
            deadline=180,
        )
        assert flow_run["state"]["type"] == "COMPLETED", (
            f"{flow_run['state']}\n{tail(logs['worker'])}"
        )

        # the trigger passed the event's meeting and download token, on top of the deployment's
        parameters = flow_run["parameters"]
        assert parameters["credentials_block"] == block
        assert parameters["destination"] == str(archive)
        assert parameters["recording"]["uuid"] == created["uuid"]
        token = parameters["download_token"]
        assert token

        # ... which is in no log: the run's logs (sent to the API) and every process's output
        def run_logs() -> list[str] | None:
            found: list[dict[str, Any]] = httpx.post(
                f"{api}/logs/filter",
                json={"logs": {"flow_run_id": {"any_": [flow_run["id"]]}}},
                timeout=10,
            ).json()
            messages = [entry["message"] for entry in found]
            # the run's last lines (its report) arrive in the logger's final batch
            done = sum("(download token)" in m for m in messages) == len(created["files"])
            return messages if done else None

        messages = wait_for("the run's logs", run_logs, [logs["worker"]], deadline=30)
        assert not [message for message in messages if token in message]
        for log in logs.values():
            assert token not in log.read_text(errors="replace"), log.name

        files = archived_by_file_id(archive)
        assert set(files) == {f["id"] for f in created["files"]}, tail(logs["worker"])
        for file_id, path in files.items():
            digest = emulator.control("GET", f"files/{file_id}")["sha256"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path.name
        manifest = json.loads((archive / MANIFEST_NAME).read_text())
        assert {entry["file_id"] for entry in manifest["files"]} == set(files)
        # the connection listed the meeting (the event's file list is not trusted); the event's
        # download token fetched the files
        counters = emulator.state.counters
        assert sum(n for k, n in counters.items() if k.startswith("GET /v2/meetings/")) == 1
        assert counters["downloads"] == len(files)

        # the worker keeps polling until it is stopped
        assert worker.poll() is None, tail(logs["worker"])

    for name, process in (("server", server), ("worker", worker), ("receiver", receiver)):
        assert process.returncode is not None, tail(logs[name])
        assert not group_alive(process.pid), f"a process of the {name} is left"
