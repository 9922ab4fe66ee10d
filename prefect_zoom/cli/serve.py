"""``prefect-zoom serve``: run the schedules of ``deployments/prefect.yaml`` in one process.

For people without a work pool: the nightly archive, the weekly reports and the watcher
(every five minutes) are served by
Prefect's ``serve(...)`` from this process, with the same names, schedules and parameters as the
deployments in ``deployments/prefect.yaml`` (a test keeps both in step). Parameters carry the
connection's block NAME, never its secrets.

Serving a deployment takes it over, and Prefect pauses every served deployment when ``serve``
stops. So ``serve`` refuses to touch a deployment of the same name that belongs to a work pool
(one made by ``prefect deploy``): ``--name-suffix`` serves beside it under other names.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from prefect_zoom.cli._output import fail

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_TIMEZONE = "UTC"
"""Schedules run in UTC unless ``--timezone`` says otherwise (as in ``deployments/prefect.yaml``)."""
DEFAULT_ARCHIVE_CRON = "30 2 * * *"
DEFAULT_REPORTS_CRON = "0 7 * * 1"
DEFAULT_WATCH_CRON = "*/5 * * * *"
DEFAULT_ARCHIVE_DIR = "./zoom-archive"

ScheduleKind = Literal["archive", "reports", "watch"]


@dataclass(frozen=True)
class ScheduledFlow:
    """One deployment of ``deployments/prefect.yaml``, as ``serve`` runs it.

    ``parameters`` are the fixed ones. :func:`build_deployments` adds ``credentials_block`` and
    the ``in_archive_dir`` ones: parameter name -> path inside the archive folder ("" for the
    folder itself), as ``{{ $ZOOM_ARCHIVE_DIR }}/<path>`` in ``prefect.yaml``.
    """

    name: str
    entrypoint: str
    schedule: ScheduleKind
    description: str
    tags: tuple[str, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    in_archive_dir: Mapping[str, str] = field(default_factory=dict)
    concurrency_limit: int | None = None

    def load_flow(self) -> Any:
        """Import the flow object named by the module-path entrypoint."""
        module, _, attribute = self.entrypoint.rpartition(".")
        return getattr(importlib.import_module(module), attribute)


def _weekly_report(flow: str, what: str, csv_file: str) -> ScheduledFlow:
    """A report flow served as ``weekly-<flow>``, writing ``reports/<csv_file>``."""
    return ScheduledFlow(
        name="weekly-" + flow.replace("_", "-"),
        entrypoint=f"prefect_zoom.flows.{flow}.{flow}",
        schedule="reports",
        description=f"Every Monday morning, {what} as a table artifact and a CSV.",
        tags=("zoom", "reports"),
        in_archive_dir={"output_csv": f"reports/{csv_file}"},
    )


SCHEDULED_FLOWS: tuple[ScheduledFlow, ...] = (
    ScheduledFlow(
        name="nightly-archive",
        entrypoint="prefect_zoom.flows.archive_recordings.archive_recordings",
        schedule="archive",
        description="Archive yesterday's (UTC) cloud recordings every night, verified, resumable.",
        tags=("zoom", "recordings"),
        parameters={"whole_account": False, "trash_after_archive": False, "max_concurrency": 4},
        in_archive_dir={"destination": ""},
        concurrency_limit=1,
    ),
    _weekly_report("meetings_report", "upcoming meetings per user", "upcoming-meetings.csv"),
    _weekly_report("users_report", "the account's users", "users.csv"),
    ScheduledFlow(
        name="weekly-attendance-report",
        entrypoint="prefect_zoom.flows.attendance_report.attendance_report",
        schedule="reports",
        description=(
            "Every Monday morning, who attended last week's meetings, as a table and CSV files."
        ),
        tags=("zoom", "reports"),
        parameters={"last_days": 7},
        in_archive_dir={"destination": "reports/attendance"},
    ),
    ScheduledFlow(
        name="watch-zoom",
        entrypoint="prefect_zoom.flows.watch_zoom.watch_zoom",
        tags=("zoom", "watch"),
        schedule="watch",
        description="Every five minutes, Zoom's events by polling, for teams without a webhook.",
        parameters={"cursor_block": "zoom-watch"},
        concurrency_limit=1,
    ),
)
"""The deployments of ``deployments/prefect.yaml``: the one place their settings live in code."""

DEFAULT_CRONS: Mapping[ScheduleKind, str] = {
    "archive": DEFAULT_ARCHIVE_CRON,
    "reports": DEFAULT_REPORTS_CRON,
    "watch": DEFAULT_WATCH_CRON,
}


def build_deployments(
    credentials_block: str,
    archive_dir: str | Path = DEFAULT_ARCHIVE_DIR,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    archive_cron: str = DEFAULT_ARCHIVE_CRON,
    reports_cron: str = DEFAULT_REPORTS_CRON,
    name_suffix: str = "",
    watch_cron: str = DEFAULT_WATCH_CRON,
) -> list[RunnerDeployment]:
    """The served deployments: archive, reports and watcher, scheduled, with module-path
    entrypoints.

    ``archive_dir`` is made absolute, so runs write to the same folder whatever their cwd; the
    reports write their CSV files to its ``reports/`` folder, as in ``prefect.yaml``.
    ``name_suffix`` is appended to every deployment name (``nightly-archive-local``, ...).
    """
    from prefect.flows import EntrypointType
    from prefect.schedules import Cron

    if not credentials_block.strip():
        raise ValueError("a credentials block name is required")
    if "/" in name_suffix:
        raise ValueError(f"--name-suffix {name_suffix!r}: a deployment name cannot hold '/'")
    crons: dict[ScheduleKind, str] = {
        "archive": archive_cron,
        "reports": reports_cron,
        "watch": watch_cron,
    }
    folder = Path(archive_dir).expanduser().resolve()
    deployments: list[RunnerDeployment] = []
    for spec in SCHEDULED_FLOWS:
        parameters: dict[str, Any] = {"credentials_block": credentials_block}
        for name, inside in spec.in_archive_dir.items():
            parameters[name] = str(folder / inside) if inside else str(folder)
        parameters.update(spec.parameters)
        deployments.append(
            spec.load_flow().to_deployment(
                name=spec.name + name_suffix,
                schedules=[Cron(crons[spec.schedule], timezone=timezone)],
                parameters=parameters,
                description=spec.description,
                tags=list(spec.tags),
                concurrency_limit=spec.concurrency_limit,
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return deployments


def deployments_in_the_way(deployments: list[RunnerDeployment]) -> list[str]:
    """The deployments of the same names on the Prefect API that belong to a work pool, as
    ``'flow/name' (work pool 'pool')``: serving them would take them over."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    in_the_way: list[str] = []
    with get_client(sync_client=True) as client:
        for deployment in deployments:
            full_name = f"{deployment.flow_name}/{deployment.name}"
            try:
                existing = client.read_deployment_by_name(full_name)
            except ObjectNotFound:
                continue
            if existing.work_pool_name:
                in_the_way.append(f"'{full_name}' (work pool '{existing.work_pool_name}')")
    return in_the_way


def serve_command(
    credentials_block: Annotated[
        str,
        typer.Option(
            "--credentials-block",
            envvar="ZOOM_CREDENTIALS_BLOCK",
            show_envvar=True,
            help="Name of the saved Zoom connection block the flows use.",
        ),
    ],
    archive_dir: Annotated[
        Path,
        typer.Option(
            "--archive-dir",
            envvar="ZOOM_ARCHIVE_DIR",
            show_envvar=True,
            help="Folder the nightly archive writes to; the reports write to its reports/ folder.",
        ),
    ] = Path(DEFAULT_ARCHIVE_DIR),
    timezone: Annotated[
        str,
        typer.Option(
            "--timezone",
            help="IANA time zone the crons are read in (e.g. Europe/Berlin); UTC unless given.",
        ),
    ] = DEFAULT_TIMEZONE,
    archive_cron: Annotated[
        str, typer.Option("--archive-cron", help="When the archive runs (cron).")
    ] = DEFAULT_ARCHIVE_CRON,
    reports_cron: Annotated[
        str, typer.Option("--reports-cron", help="When the two reports run (cron).")
    ] = DEFAULT_REPORTS_CRON,
    watch_cron: Annotated[
        str, typer.Option("--watch-cron", help="When the watcher polls Zoom (cron).")
    ] = DEFAULT_WATCH_CRON,
    name_suffix: Annotated[
        str,
        typer.Option(
            "--name-suffix",
            help="Appended to every deployment name (e.g. -local), to serve beside deployments "
            "of the same names that `prefect deploy` put on a work pool.",
        ),
    ] = "",
) -> None:
    """Serve the nightly archive, the weekly reports and the watcher from this process (no work
    pool needed)."""
    from prefect import serve

    try:
        deployments = build_deployments(
            credentials_block,
            archive_dir,
            timezone=timezone,
            archive_cron=archive_cron,
            reports_cron=reports_cron,
            name_suffix=name_suffix,
            watch_cron=watch_cron,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    in_the_way = deployments_in_the_way(deployments)
    if in_the_way:
        fail(
            f"{', '.join(in_the_way)} already deployed to a work pool. Serving the same names "
            "here would take those deployments over, and stopping serve would pause them.",
            hint="Serve beside them under other names: add --name-suffix -local (deployments "
            "nightly-archive-local, ...), or delete the deployed ones first "
            "(prefect deployment delete 'FLOW/NAME').",
        )
    serve(*deployments)
