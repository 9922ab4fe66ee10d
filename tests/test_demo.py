"""``make demo``'s main job, run as a user would: from an empty folder, to a verified archive."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end_and_leaves_nothing_running(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [sys.executable, "-m", "prefect_zoom.demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    for noise in ("Traceback", "ERROR", "database is locked", "telemetry"):
        assert noise not in output, output[-3000:]
    assert "Quarterly planning: created" in output
    assert "Team stand-up: created" in output
    assert "20 occurrence(s)" in output
    assert len(re.findall(r"(?:Zoom emulator|Prefect API): http", output)) == 2

    archive = tmp_path / "zoom-archive"
    manifest = json.loads((archive / "zoom-archive-manifest.json").read_text())
    files = [p for p in archive.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(manifest["files"]) == 16
    assert len(files) == 17  # 16 recordings and the manifest
    assert not list(archive.rglob("*.partial"))
    # The local Prefect server kept the runs for later viewing, and is no longer running.
    assert (tmp_path / ".prefect-demo" / "prefect.db").exists()
    for url in re.findall(r"(?:Zoom emulator|Prefect API): (http://127\.0\.0\.1:\d+)", output):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)
