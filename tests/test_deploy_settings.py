"""Deploying ``deployments/prefect.yaml`` cannot produce an empty connection.

``prefect deploy`` renders a missing ``{{ $VAR }}`` as ``""`` with a mere warning; the file's
build step stops the deploy instead, and a flow run that got an empty block name anyway says why.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers.prefect_server import DEPLOYMENTS_DIR, PREFECT, prefect_env
from prefect.settings import PREFECT_API_URL

from prefect_zoom.deploy_steps import MissingDeploySettingError, require_environment
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.tasks._common import load_credentials


@pytest.fixture
def zoom_pool() -> Iterator[str]:
    """The work pool ``prefect.yaml`` names, on the session's API, for this test only."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="zoom-pool", type="process"))
        try:
            yield "zoom-pool"
        finally:
            client.delete_work_pool("zoom-pool")


def deployment_names(api: str) -> set[str]:
    answer = httpx.post(f"{api}/deployments/filter", json={}, timeout=30)
    answer.raise_for_status()
    return {d["name"] for d in answer.json()}


@pytest.mark.slow
@pytest.mark.skipif(not PREFECT.exists(), reason="the prefect CLI is not next to this Python")
def test_deploy_all_without_the_variables_fails_and_deploys_nothing(
    tmp_path: Path, zoom_pool: str
) -> None:
    api = str(PREFECT_API_URL.value())
    env = prefect_env(tmp_path / "home", api)
    env.pop("ZOOM_CREDENTIALS_BLOCK", None)
    env.pop("ZOOM_ARCHIVE_DIR", None)
    before = deployment_names(api)
    result = subprocess.run(
        [str(PREFECT), "--no-prompt", "deploy", "--all"],
        env=env,
        cwd=DEPLOYMENTS_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "ZOOM_CREDENTIALS_BLOCK is not set" in output, output
    assert "ZOOM_ARCHIVE_DIR is not set" in output, output
    assert "Nothing was deployed" in output, output
    assert deployment_names(api) == before


def test_require_environment_names_each_missing_or_relative_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZOOM_CREDENTIALS_BLOCK", "  ")
    monkeypatch.setenv("ZOOM_ARCHIVE_DIR", "zoom-archive")
    with pytest.raises(MissingDeploySettingError) as caught:
        require_environment(["ZOOM_CREDENTIALS_BLOCK"], absolute_paths=["ZOOM_ARCHIVE_DIR"])
    message = str(caught.value)
    assert "ZOOM_CREDENTIALS_BLOCK is not set" in message
    assert "ZOOM_ARCHIVE_DIR must be an absolute path" in message
    assert "'zoom-archive'" in message

    monkeypatch.setenv("ZOOM_CREDENTIALS_BLOCK", "zoom")
    monkeypatch.setenv("ZOOM_ARCHIVE_DIR", "/srv/zoom-archive")
    assert require_environment(["ZOOM_CREDENTIALS_BLOCK"], ["ZOOM_ARCHIVE_DIR"]) == {}


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_block_name_says_how_a_deployment_got_it(name: str) -> None:
    with pytest.raises(ZoomInputError) as caught:
        load_credentials(name)
    assert caught.value.field == "credentials"
    assert "empty" in caught.value.problem
    assert "ZOOM_CREDENTIALS_BLOCK" in caught.value.fix
