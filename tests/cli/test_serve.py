"""``prefect-zoom serve``: the same deployments as ``deployments/prefect.yaml``, built without serving."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import prefect
import pytest
import yaml
from prefect.client.schemas.responses import DeploymentResponse
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from typer.testing import CliRunner

from prefect_zoom.cli import app
from prefect_zoom.cli.serve import (
    DEFAULT_ARCHIVE_DIR,
    DEFAULT_CRONS,
    DEFAULT_TIMEZONE,
    SCHEDULED_FLOWS,
    build_deployments,
)

PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"
NAMES = [
    "nightly-archive",
    "weekly-meetings-report",
    "weekly-users-report",
    "weekly-attendance-report",
    "watch-zoom",
]
# Started by events, not schedules: deployed from prefect.yaml only, never served.
TRIGGERED = ["archive-on-recording-completed", "attendance-on-meeting-ended"]
# Started by a partitioned archive's parent run: deployed from prefect.yaml only, never served.
PARTITIONS = ["archive-partition"]


def yaml_deployments() -> dict[str, dict[str, Any]]:
    """The deployments of ``deployments/prefect.yaml`` by name."""
    document = yaml.safe_load(PREFECT_YAML.read_text())
    return {entry["name"]: entry for entry in document["deployments"]}


def render(value: Any, block: str, archive_dir: str) -> Any:
    """What ``prefect deploy`` makes of a templated parameter with these env vars set."""
    if isinstance(value, str):
        return value.replace("{{ $ZOOM_CREDENTIALS_BLOCK }}", block).replace(
            "{{ $ZOOM_ARCHIVE_DIR }}", archive_dir
        )
    return value


def cron_of(deployment: RunnerDeployment) -> CronSchedule:
    (schedule,) = deployment.schedules or []
    assert isinstance(schedule.schedule, CronSchedule)
    return schedule.schedule


def test_the_served_schedules_are_those_of_prefect_yaml(tmp_path: Path) -> None:
    in_yaml = yaml_deployments()
    assert sorted(in_yaml) == sorted(NAMES + TRIGGERED + PARTITIONS)
    for name in TRIGGERED:
        # an explicit empty list: without one, an interactive `prefect deploy` asks for a schedule
        assert "triggers" in in_yaml[name] and in_yaml[name]["schedules"] == []
    assert sorted(spec.name for spec in SCHEDULED_FLOWS) == sorted(NAMES)
    archive_dir = str(tmp_path / "archive")
    built = {d.name: d for d in build_deployments("zoom-main", archive_dir)}
    for spec in SCHEDULED_FLOWS:
        entry = in_yaml[spec.name]
        assert entry["entrypoint"] == spec.entrypoint == built[spec.name].entrypoint
        assert entry["description"] == spec.description
        assert tuple(entry["tags"]) == spec.tags
        assert entry.get("concurrency_limit") == spec.concurrency_limit
        assert entry["work_pool"]["name"] == "zoom-pool"
        (schedule,) = entry["schedules"]
        assert schedule["cron"] == DEFAULT_CRONS[spec.schedule]
        assert schedule["timezone"] == DEFAULT_TIMEZONE
        assert schedule.get("active", True) is True
        rendered = {k: render(v, "zoom-main", archive_dir) for k, v in entry["parameters"].items()}
        assert rendered == built[spec.name].parameters


def test_prefect_yaml_pins_no_working_directory() -> None:
    """Workers on other machines run the module-path entrypoints without pulling code."""
    document = yaml.safe_load(PREFECT_YAML.read_text())
    assert document["pull"] == []
    assert all(":" not in entry["entrypoint"] for entry in document["deployments"])


def test_build_deployments_with_the_defaults() -> None:
    deployments = build_deployments("zoom-main")
    assert [d.name for d in deployments] == NAMES
    assert [d.flow_name for d in deployments] == [
        "Zoom: archive recordings",
        "Zoom: upcoming meetings report",
        "Zoom: users report",
        "Zoom: attendance report",
        "Zoom: watch for changes",
    ]
    crons = [(cron_of(d).cron, cron_of(d).timezone) for d in deployments]
    assert crons == [
        ("30 2 * * *", "UTC"),
        ("0 7 * * 1", "UTC"),
        ("0 7 * * 1", "UTC"),
        ("0 7 * * 1", "UTC"),
        ("*/5 * * * *", "UTC"),
    ]
    archive_dir = Path(DEFAULT_ARCHIVE_DIR).resolve()
    archive, meetings, users, attendance, watcher = deployments
    assert archive.parameters == {
        "credentials_block": "zoom-main",
        "destination": str(archive_dir),
        "whole_account": False,
        "trash_after_archive": False,
        "max_concurrency": 4,
    }
    assert archive.concurrency_limit == 1
    assert meetings.parameters == {
        "credentials_block": "zoom-main",
        "output_csv": str(archive_dir / "reports" / "upcoming-meetings.csv"),
    }
    assert users.parameters == {
        "credentials_block": "zoom-main",
        "output_csv": str(archive_dir / "reports" / "users.csv"),
    }
    assert attendance.parameters == {
        "credentials_block": "zoom-main",
        "destination": str(archive_dir / "reports" / "attendance"),
        "last_days": 7,
    }
    assert watcher.parameters == {"credentials_block": "zoom-main", "cursor_block": "zoom-watch"}
    assert watcher.concurrency_limit == 1
    assert all(d.work_pool_name is None for d in deployments)


def test_build_deployments_with_options(tmp_path: Path) -> None:
    deployments = build_deployments(
        "zoom-other",
        tmp_path,
        timezone="America/New_York",
        archive_cron="15 1 * * *",
        reports_cron="0 8 * * 2",
        watch_cron="*/10 * * * *",
    )
    crons = [(cron_of(d).cron, cron_of(d).timezone) for d in deployments]
    assert crons == [
        ("15 1 * * *", "America/New_York"),
        ("0 8 * * 2", "America/New_York"),
        ("0 8 * * 2", "America/New_York"),
        ("0 8 * * 2", "America/New_York"),
        ("*/10 * * * *", "America/New_York"),
    ]
    assert deployments[0].parameters["destination"] == str(tmp_path.resolve())
    assert {d.parameters["credentials_block"] for d in deployments} == {"zoom-other"}


def test_parameters_carry_the_block_name_never_its_secrets() -> None:
    """Only the name reaches the deployments, whatever the block holds."""
    deployments = build_deployments("zoom-main")
    dumped = json.dumps([d.model_dump(mode="json") for d in deployments], default=str)
    for word in ("secret", "token", "password", "client_id"):
        assert word not in dumped.lower()


class ServeCalls:
    """Stands in for ``prefect.serve``: records the deployments instead of serving them."""

    def __init__(self) -> None:
        self.deployments: list[RunnerDeployment] = []

    def __call__(self, *deployments: RunnerDeployment, **kwargs: Any) -> None:
        self.deployments.extend(deployments)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> ServeCalls:
    calls = ServeCalls()
    monkeypatch.setattr(prefect, "serve", calls)
    monkeypatch.delenv("ZOOM_CREDENTIALS_BLOCK", raising=False)
    monkeypatch.delenv("ZOOM_ARCHIVE_DIR", raising=False)
    return calls


def test_the_command_serves_what_build_deployments_builds(
    served: ServeCalls, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["serve", "--credentials-block", "zoom-main", "--archive-dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert [d.name for d in served.deployments] == NAMES
    assert served.deployments[0].parameters["destination"] == str(tmp_path.resolve())


def test_the_command_reads_the_environment(served: ServeCalls, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["serve", "--reports-cron", "0 9 * * 5"],
        env={"ZOOM_CREDENTIALS_BLOCK": "zoom-env", "ZOOM_ARCHIVE_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert {d.parameters["credentials_block"] for d in served.deployments} == {"zoom-env"}
    assert served.deployments[0].parameters["destination"] == str(tmp_path.resolve())
    assert cron_of(served.deployments[2]).cron == "0 9 * * 5"


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["--credentials-block", "zoom-main", "--archive-cron", "not a cron"],
        ["--credentials-block", "zoom-main", "--timezone", "Mars/Olympus"],
    ],
    ids=["no block", "bad cron", "bad timezone"],
)
def test_the_command_refuses_bad_options(served: ServeCalls, arguments: list[str]) -> None:
    result = CliRunner().invoke(app, ["serve", *arguments])
    assert result.exit_code == 2, result.output
    assert served.deployments == []


@pytest.fixture
def deployed_archive() -> Iterator[DeploymentResponse]:
    """``nightly-archive`` as ``prefect deploy`` makes it: on a work pool of the session's API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    pool = f"zoom-pool-{uuid.uuid4().hex[:8]}"
    (deployment,) = [d for d in build_deployments("zoom-team") if d.name == "nightly-archive"]
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        deployment_id = deployment.apply(work_pool_name=pool)
        assert isinstance(deployment_id, uuid.UUID)  # a sync call here, not a coroutine
        try:
            yield client.read_deployment(deployment_id)
        finally:
            client.delete_deployment(deployment_id)
            client.delete_work_pool(pool)


def test_serve_refuses_to_take_over_a_deployment_on_a_work_pool(
    served: ServeCalls, deployed_archive: DeploymentResponse
) -> None:
    from prefect.client.orchestration import get_client

    result = CliRunner().invoke(app, ["serve", "--credentials-block", "zoom-main"])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert (
        f"'Zoom: archive recordings/nightly-archive' (work pool '{deployed_archive.work_pool_name}')"
        in said
    )
    assert "--name-suffix" in said
    assert served.deployments == []
    with get_client(sync_client=True) as client:
        after = client.read_deployment(deployed_archive.id)
    assert after.parameters == deployed_archive.parameters
    assert after.parameters["credentials_block"] == "zoom-team"
    assert after.paused is False and after.work_pool_name == deployed_archive.work_pool_name


def test_serve_with_a_name_suffix_serves_beside_the_deployed_ones(
    served: ServeCalls, deployed_archive: DeploymentResponse
) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--credentials-block", "zoom-main", "--name-suffix", "-local"]
    )
    assert result.exit_code == 0, result.output
    assert [d.name for d in served.deployments] == [f"{name}-local" for name in NAMES]
