"""Secrets stay secret: known client secrets and every token the emulator issued never show up in
logs, reprs, exceptions, CLI output, artifacts or flow-run parameters."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.connections import load_block, oauth_credentials
from helpers.flows import run_async
from prefect import flow, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL
from prefect.states import State

from prefect_zoom import ZoomAuthorizeAgainError, ZoomOAuthCredentials
from prefect_zoom.flows import archive_recordings, check_connection
from prefect_zoom.tasks import get_user
from zoom_emulator import EmulatorConfig, ZoomEmulator

CLIENT_SECRET = "Known-0auth-S3cret-9f1c"
S2S_SECRET = "Known-S2S-S3cret-77ab"


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(
        oauth_client_secret=CLIENT_SECRET,
        s2s_client_secret=S2S_SECRET,
        access_token_ttl=3600,
        recordings_per_user=1,
        recording_bytes=20_000,
    )


@pytest.fixture
def captured_logs() -> Iterator[list[str]]:
    """Every log record of every logger, at DEBUG, formatted with its exception if any."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root, prefect_logger = logging.getLogger(), logging.getLogger("prefect")
    previous = root.level, prefect_logger.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    prefect_logger.setLevel(logging.DEBUG)  # run logs reach the API at every level
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous[0])
        prefect_logger.setLevel(previous[1])


def secrets_of(emulator: ZoomEmulator) -> list[str]:
    """The client secrets and every access and refresh token the emulator ever issued."""
    state = emulator.state
    return [CLIENT_SECRET, S2S_SECRET, *state.access_tokens, *state.refresh_tokens]


def assert_clean(text: str, secrets: list[str], where: str) -> None:
    leaked = [s[:6] + "…" for s in secrets if s and s in text]
    assert not leaked, f"{where} holds secrets starting with {leaked}"


def test_no_secret_anywhere(
    emulator_config: EmulatorConfig,
    zoom_emulator: ZoomEmulator,
    captured_logs: list[str],
    tmp_path: Path,
) -> None:
    seen: list[tuple[str, str]] = []  # (where, text)

    # 1. connect: a Server-to-Server connection through the CLI, output captured.
    s2s_name = f"secret-s2s-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    connect = subprocess.run(
        [
            sys.executable, "-m", "prefect_zoom.cli", "connect", "s2s", "--block", s2s_name,
            "--account-id", emulator_config.account_id,
            "--client-id", emulator_config.s2s_client_id,
            "--client-secret", S2S_SECRET,
            "--base-url", zoom_emulator.base_url,
        ],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert connect.returncode == 0, connect.stdout + connect.stderr
    seen.append(("connect output", connect.stdout + connect.stderr))

    # 2. an OAuth connection, then a refresh (the access token expires; the block rotates).
    oauth_name = f"secret-oauth-{uuid.uuid4().hex[:8]}"
    block = oauth_credentials(zoom_emulator)
    block.save(oauth_name, overwrite=True)
    for token in zoom_emulator.state.access_tokens.values():
        token.expires_at = 0
    loaded = load_block(ZoomOAuthCredentials, oauth_name)
    with loaded.get_client() as zoom:
        assert zoom.get_json("/users/me", operation="get_user")["email"]
        seen.append(("client repr", repr(zoom)))
    assert zoom_emulator.state.counters["grant refresh_token"] == 1
    seen += [("block repr", repr(loaded)), ("block str", str(loaded))]
    seen.append(("block dump", json.dumps(loaded.model_dump(mode="json"), default=str)))

    # 3. a flow run with a task on each connection, and the archive flow (artifacts).
    @flow
    def who(names: list[str]) -> list[str]:
        return [get_user(name).email for name in names]

    state: State[list[str]] = who([s2s_name, oauth_name], return_state=True)
    assert state.result() == [zoom_emulator.config.user_email] * 2
    archive_state = run_async(
        archive_recordings(s2s_name, destination=str(tmp_path), return_state=True)
    )
    assert archive_state.is_completed()
    check_state = check_connection(oauth_name, return_state=True)
    assert check_state.is_completed()

    # 4. failures: a revoked connection's error, its str and repr.
    zoom_emulator.control("POST", "connections/revoke", json={})
    for token in zoom_emulator.state.access_tokens.values():
        token.expires_at = 0
    with (
        pytest.raises(ZoomAuthorizeAgainError) as failure,
        load_block(ZoomOAuthCredentials, oauth_name).get_client() as zoom,
    ):
        zoom.get_json("/users/me", operation="get_user")
    seen += [("error str", str(failure.value)), ("error repr", repr(failure.value))]
    seen.append(("traceback", "".join(traceback.format_exception(failure.value))))

    # What the Prefect API holds: flow-run parameters, logs and artifacts of these runs.
    run_ids = [s.state_details.flow_run_id for s in (state, archive_state, check_state)]
    APILogWorker.drain_all()
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids))
        )
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=run_ids)))
        artifacts = client.read_artifacts()
    assert len(runs) == 3
    assert logs, "the runs sent no logs to the API"
    seen.append(("flow-run parameters", json.dumps([r.parameters for r in runs], default=str)))
    seen.append(("API logs", "\n".join(log.message for log in logs)))
    seen.append(("artifacts", json.dumps([a.data for a in artifacts], default=str)))
    seen.append(("local logs", "\n".join(captured_logs)))

    secrets = secrets_of(zoom_emulator)
    assert len(secrets) > 4  # tokens were issued, so there is something to leak
    for where, text in seen:
        assert_clean(text, secrets, where)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"api_base_url": "https://admin:pw-in-url@api.zoom.us/v2"}, "api_base_url"),
        ({"client_secret_block_name": "zoom-secret"}, "client_secret_block_name"),
        ({"oauth_base_url": "http://collector.example/"}, "oauth_base_url"),
    ],
    ids=["password-in-url", "both-secrets", "plain-http"],
)
def test_a_refused_block_field_does_not_echo_what_was_given(
    fields: dict[str, str], named: str
) -> None:
    """pydantic repeats the input in its errors unless told not to: a short client secret or a
    password in a base URL would land in a traceback or a UI message."""
    with pytest.raises(ValueError) as refused:
        ZoomOAuthCredentials(client_id="app-id", client_secret="s3", **fields)
    text = str(refused.value) + repr(refused.value)
    assert named in text, text
    assert "input_value" not in text, text
    assert "'s3'" not in text, text
    assert "pw-in-url" not in text, text
