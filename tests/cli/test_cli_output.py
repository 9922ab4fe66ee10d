"""What the command line shows a person: ``check`` readable at 80 columns, nothing after an error."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from helpers.connections import connect_s2s_args
from prefect.settings import PREFECT_API_URL
from typer.testing import CliRunner

from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.cli import app
from zoom_emulator import ZoomEmulator


def test_check_at_80_columns_shows_every_mark_and_scope(zoom_emulator: ZoomEmulator) -> None:
    zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id].scopes = ["meeting:read"]
    block = f"narrow-{uuid.uuid4().hex[:8]}"
    env = {"COLUMNS": "80", "ZOOM_CLIENT_SECRET": zoom_emulator.config.s2s_client_secret}
    saved = CliRunner().invoke(app, connect_s2s_args(zoom_emulator, block), env=env)
    assert saved.exit_code == 0, saved.output

    result = CliRunner().invoke(app, ["check", "--block", block], env={"COLUMNS": "80"})

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    marked = {line.split()[1]: line.split()[0] for line in lines if line[:1] in ("✓", "✗")}
    assert {name: marked.get(name) for name in OPERATIONS} == {
        name: "✓" if op.is_satisfied_by(["meeting:read"]) else "✗"
        for name, op in OPERATIONS.items()
    }, result.output
    flat = " ".join(result.output.split())
    assert (
        "✗ create_meeting POST /users/{userId}/meetings add any one of: meeting:write, meeting:write:meeting"
        in flat
    )
    assert "✗ users_report list_users (user:read:admin or user:read:list_users:admin)" in flat


def test_a_failed_command_ends_with_its_own_message(zoom_emulator: ZoomEmulator) -> None:
    """Prefect's exit-time "Still processing items" line never follows the error."""
    block = f"twice-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "ZOOM_CLIENT_SECRET": zoom_emulator.config.s2s_client_secret,
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "prefect_zoom.cli", *connect_s2s_args(zoom_emulator, block)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert again.returncode == 1, again.stdout + again.stderr
    assert again.stderr.strip().splitlines() == [
        f"Error: a Zoom Server-to-Server block named {block!r} already exists.",
        "Pass --overwrite to replace it.",
    ], again.stderr
