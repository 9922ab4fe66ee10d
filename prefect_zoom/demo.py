"""The main job, ``make demo``: a local Zoom and a local Prefect, and the pack's flows run on them.

Run it with ``python -m prefect_zoom.demo``. It needs no Zoom account and no server started by
hand: it starts the Zoom emulator and a Prefect server (SQLite, in ``./.prefect-demo``), saves the
connection block, checks the connection, schedules a one-time and a recurring meeting with
invitation links, archives the seeded recordings into ``./zoom-archive``, prints where to look,
and stops everything it started.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from prefect_zoom.local_prefect import prefect_env, prefect_server
from zoom_emulator import EmulatorConfig, ZoomEmulator

console = Console()
BLOCK_NAME = "zoom-demo"
PREFECT_HOME = Path(".prefect-demo")


def run_flows(zoom_base_url: str, archive: Path) -> None:
    """Save the connection, then run the flows against the emulator (in the demo's child process,
    whose ``PREFECT_API_URL`` points at the local server)."""
    from prefect_zoom.blocks import ZoomServerToServerCredentials
    from prefect_zoom.flows import archive_recordings, check_connection, schedule_meetings

    summary = Table(title="What happened", show_header=False, expand=True)
    config = EmulatorConfig()
    ZoomServerToServerCredentials(
        account_id=config.account_id,
        client_id=config.s2s_client_id,
        client_secret=config.s2s_client_secret,
        api_base_url=f"{zoom_base_url}/v2",
        oauth_base_url=f"{zoom_base_url}/oauth",
    ).save(BLOCK_NAME, overwrite=True)
    summary.add_row("connection", f"block [bold]{BLOCK_NAME}[/] (Server-to-Server OAuth)")

    console.rule("check_connection")
    report = check_connection(BLOCK_NAME)
    summary.add_row(
        "connected as",
        f"{report.email} (account {report.account_id}), {len(report.granted_scopes)} scopes",
    )

    console.rule("schedule_meetings")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=15, minute=0, second=0, microsecond=0
    )
    rows = schedule_meetings(
        BLOCK_NAME,
        meetings=[
            {
                "topic": "Quarterly planning",
                "start_time": tomorrow.isoformat(),
                "duration": 60,
                "invitees": "Ada Lovelace;Alan Turing",
            },
            {
                "topic": "Team stand-up",
                "start_time": tomorrow.replace(hour=9).strftime("%Y-%m-%dT%H:%M:%S"),
                "timezone": "Europe/Berlin",
                "duration": 15,
                "recurrence_type": "weekly",
                "weekly_days": "2,3,4,5,6",
                "end_times": 20,
                "invitees": "Grace Hopper",
            },
        ],
    )
    for row in rows:
        summary.add_row(
            f"meeting {row.row}",
            f"{row.topic}: {row.status}, id {row.meeting_id}, "
            f"{row.occurrences or 1} occurrence(s), {row.invite_links} invitation link(s)",
        )

    console.rule("archive_recordings")
    result = asyncio.run(
        archive_recordings(BLOCK_NAME, whole_account=True, destination=str(archive))
    )
    summary.add_row(
        "archive",
        f"{result.count('downloaded', 'resumed')} files downloaded "
        f"({result.bytes_downloaded:,} bytes), {result.count('already archived')} already "
        f"archived, from {result.meetings} recorded meetings into {archive}/, all verified",
    )
    summary.add_row("files", f"{archive.resolve()} (and its zoom-archive-manifest.json)")
    console.print(summary)


def main(archive: Path = Path("zoom-archive")) -> None:
    """Start the emulator and a local Prefect server, run the flows, print where to look."""
    started = time.monotonic()
    console.rule("[bold]prefect-zoom demo")
    config = EmulatorConfig(seed_users=2, recordings_per_user=2, recording_bytes=5_000_000)
    with ZoomEmulator(config) as zoom, prefect_server(PREFECT_HOME.resolve()) as api_url:
        console.print(f"Zoom emulator: [cyan]{zoom.base_url}[/]   Prefect API: [cyan]{api_url}[/]")
        # The flows run in a child process that talks to this server only, and that has sent all
        # its logs and events before the server stops.
        child = subprocess.run(
            [sys.executable, "-m", "prefect_zoom.demo", "--run-flows", zoom.base_url, str(archive)],
            env=prefect_env(
                PREFECT_HOME.resolve(),
                api_url,
                PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="false",
                PREFECT_LOGGING_LEVEL="INFO",
            ),
            check=False,
        )
    elapsed = time.monotonic() - started
    if child.returncode != 0:
        raise SystemExit(f"the demo's flows failed (exit {child.returncode}); see the log above")
    console.print(
        f"Done in {elapsed:.0f} s; the emulator and the Prefect server have stopped.\n"
        f"See the runs and artifacts: [bold]PREFECT_HOME={PREFECT_HOME} "
        f"{Path(sys.executable).parent / 'prefect'} server start[/], then open "
        "http://127.0.0.1:4200\nRun `make demo` again today: the archive downloads nothing new."
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--run-flows":
        run_flows(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
