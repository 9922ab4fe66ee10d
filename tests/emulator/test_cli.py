"""``zoom-emulator`` (and its alias ``prefect-zoom emulator``) runs a Zoom on loopback, prints how
to reach it, and stops on Ctrl+C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from emulator.conftest import read_until
from zoom_emulator import EmulatorConfig, free_port

ZOOM_EMULATOR = [sys.executable, "-m", "zoom_emulator"]
PREFECT_ZOOM_EMULATOR = [sys.executable, "-m", "prefect_zoom.cli", "emulator"]


@pytest.fixture(params=[ZOOM_EMULATOR, PREFECT_ZOOM_EMULATOR], ids=["zoom-emulator", "alias"])
def emulator_process(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    process = subprocess.Popen(
        [
            *request.param,
            "--port",
            str(port),
            "--access-token-ttl",
            "120",
            "--seed-users",
            "3",
            "--recordings-per-user",
            "1",
            "--rate-limits",
            "business",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_prints_base_url_and_credentials_and_serves(
    emulator_process: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = emulator_process
    banner = read_until(process, "Ctrl+C")
    defaults = EmulatorConfig()
    base_url = f"http://127.0.0.1:{port}"
    assert base_url in banner
    for value in (
        defaults.account_id,
        defaults.s2s_client_id,
        defaults.oauth_client_id,
        defaults.user_email,
        defaults.webhook_secret_token,
    ):
        assert value in banner

    state = httpx.get(f"{base_url}/_emulator/state").json()
    assert len(state["users"]) == 3
    assert state["recordings"] == 3
    assert state["config"]["access_token_ttl"] == 120
    assert state["config"]["rate_limits"] == "business"

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) in (0, 130)  # 130: stopped by SIGINT, as shells report it
    rest = process.stdout.read() if process.stdout else ""
    assert "Traceback" not in rest


@pytest.mark.parametrize("command", [ZOOM_EMULATOR, PREFECT_ZOOM_EMULATOR])
def test_rejects_an_unknown_rate_plan(command: list[str]) -> None:
    result = subprocess.run(
        [*command, "--rate-limits", "platinum"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--rate-limits" in result.stdout + result.stderr


def test_the_alias_is_the_same_command_and_the_script_is_declared() -> None:
    """One implementation: ``prefect-zoom emulator`` runs ``zoom-emulator``'s own function."""
    from importlib.metadata import entry_points

    from prefect_zoom.cli import app
    from zoom_emulator.cli import emulator_command

    (alias,) = [c for c in app.registered_commands if c.name == "emulator"]
    assert alias.callback is emulator_command
    (script,) = entry_points(group="console_scripts").select(name="zoom-emulator")
    assert script.value == "zoom_emulator.cli:main"
