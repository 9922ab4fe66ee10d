"""One naming style: every task and flow the pack defines is named ``Zoom: ...``, flow slugs
``zoom-...``, and ``prefect-zoom serve`` schedules in UTC unless told otherwise (said in ``--help``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from types import ModuleType

import pytest
from prefect import Flow, Task
from prefect.client.schemas.schedules import CronSchedule
from prefect.utilities.slugify import slugify
from typer.testing import CliRunner

import prefect_zoom.flows
import prefect_zoom.tasks
from prefect_zoom.cli import app
from prefect_zoom.cli.serve import DEFAULT_TIMEZONE, SCHEDULED_FLOWS, build_deployments

PACKAGES = (prefect_zoom.tasks, prefect_zoom.flows)


def modules(package: ModuleType) -> Iterator[ModuleType]:
    """The package and every module under it, private ones (``_support``) included."""
    yield package
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        yield importlib.import_module(info.name)


def defined() -> dict[str, Task[..., object] | Flow[..., object]]:
    """Every Prefect task and flow defined in the packages, by ``module.attribute``."""
    found: dict[str, Task[..., object] | Flow[..., object]] = {}
    for package in PACKAGES:
        for module in modules(package):
            for attribute, value in vars(module).items():
                if (
                    isinstance(value, Task | Flow)
                    and inspect.unwrap(value.fn).__module__ == module.__name__
                ):
                    found[f"{module.__name__}.{attribute}"] = value
    return found


DEFINED = defined()
FLOWS = {where: value for where, value in DEFINED.items() if isinstance(value, Flow)}


def test_the_walk_finds_the_private_tasks_and_every_flow() -> None:
    assert "prefect_zoom.flows._support.write_csv" in DEFINED
    assert "prefect_zoom.flows._support.read_connection" in DEFINED
    assert "prefect_zoom.tasks.recordings.list_recordings" in DEFINED
    public_flows = {
        name
        for name in prefect_zoom.flows.__all__
        if isinstance(getattr(prefect_zoom.flows, name), Flow)
    }
    assert public_flows <= {where.rsplit(".", 1)[1] for where in FLOWS}
    assert len(FLOWS) >= 6


@pytest.mark.parametrize("where", sorted(DEFINED))
def test_display_name_is_zoom_style(where: str) -> None:
    name = DEFINED[where].name
    assert re.fullmatch(r"Zoom: [a-z][^A-Z]*\S", name.replace("CSV", "csv")), (where, name)


@pytest.mark.parametrize("where", sorted(FLOWS))
def test_flow_slug_is_zoom_style_and_the_name_fits_a_deployment_address(where: str) -> None:
    name = FLOWS[where].name
    assert slugify(name) == "zoom-" + slugify(name.removeprefix("Zoom: ")), (where, name)
    assert "/" not in name  # Prefect addresses a deployment as "<flow name>/<deployment name>"


def test_serve_schedules_in_utc_by_default_and_says_so() -> None:
    assert DEFAULT_TIMEZONE == "UTC"
    deployments = build_deployments("zoom-main")
    schedules = [entry.schedule for d in deployments for entry in d.schedules or []]
    assert len(schedules) == len(deployments) == len(SCHEDULED_FLOWS)
    assert all(isinstance(schedule, CronSchedule) for schedule in schedules)
    timezones = {schedule.timezone for schedule in schedules if isinstance(schedule, CronSchedule)}
    assert timezones == {"UTC"}
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if "--timezone" in line]
    assert "UTC" in line
