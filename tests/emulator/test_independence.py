"""The local Zoom is a package of its own: it runs where Prefect and the pack are not installed,
and its backend (``models/``) holds state and behaviour without any HTTP framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import zoom_emulator

PACKAGE = Path(zoom_emulator.__file__).parent

# Installed before anything else: every import of prefect or prefect_zoom fails as if missing.
BLOCK_PREFECT = """
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"prefect", "prefect_zoom"}:
            raise ImportError(f"{name} is not installed here")
        return None

sys.meta_path.insert(0, NotInstalled())
"""

SERVE_ONE_REQUEST = """
import importlib, pkgutil
import httpx
import zoom_emulator
from zoom_emulator import EmulatorConfig, ZoomEmulator, create_app

for module in pkgutil.walk_packages(zoom_emulator.__path__, "zoom_emulator."):
    if module.name != "zoom_emulator.__main__":
        importlib.import_module(module.name)
create_app(EmulatorConfig())
with ZoomEmulator() as zoom:
    config = zoom.config
    answer = httpx.post(
        f"{zoom.oauth_url}/token",
        params={"grant_type": "account_credentials", "account_id": config.account_id},
        auth=(config.s2s_client_id, config.s2s_client_secret),
    )
    token = answer.json()["access_token"]
    me = httpx.get(f"{zoom.api_url}/users/me", headers={"Authorization": f"Bearer {token}"})
    print(me.status_code, me.json()["email"])
assert not {name for name in sys.modules if name.partition(".")[0] in {"prefect", "prefect_zoom"}}
"""


def test_imports_and_serves_without_prefect_or_the_pack() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_PREFECT + SERVE_ONE_REQUEST],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", zoom_emulator.EmulatorConfig().user_email]


def test_the_blocker_really_blocks_prefect() -> None:
    """The check above would prove nothing if the finder let ``prefect_zoom`` through."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_PREFECT + "import prefect_zoom"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "prefect_zoom is not installed here" in result.stderr


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.partition(".")[0])
    return roots


def test_models_hold_no_http_and_nothing_imports_the_pack() -> None:
    http = {"fastapi", "starlette", "uvicorn", "httpx"}
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 20
    for path in modules:
        roots = _imported_roots(path)
        assert not roots & {"prefect", "prefect_zoom"}, path
        if path.parent.name == "models":
            assert not roots & http, path
