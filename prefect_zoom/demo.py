"""The main job, ``make demo``: a local Zoom, a connection, and a real round trip through it.

Run it with ``python -m prefect_zoom.demo``. It needs no Zoom account and leaves nothing running.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from prefect_zoom.blocks import ZoomServerToServerCredentials
from prefect_zoom.emulator import EmulatorConfig, ZoomEmulator

console = Console()


def main(destination: Path = Path("zoom-archive")) -> None:
    """Start the emulator, connect with Server-to-Server OAuth, and use Zoom end to end."""
    started = time.monotonic()
    config = EmulatorConfig(seed_users=2, recordings_per_user=2, recording_bytes=2_000_000)
    with ZoomEmulator(config) as zoom:
        console.rule("[bold]prefect-zoom demo")
        console.print(f"Local Zoom emulator at [cyan]{zoom.base_url}[/]")
        credentials = ZoomServerToServerCredentials(
            account_id=config.account_id,
            client_id=config.s2s_client_id,
            client_secret=config.s2s_client_secret,
            api_base_url=zoom.api_url,
            oauth_base_url=zoom.oauth_url,
        )
        summary = Table(title="What happened", show_header=False)
        with credentials.get_client() as client:
            me = client.get_json("/users/me", operation="get_user")
            summary.add_row("connected as", f"{me['email']} (account {me['account_id']})")

            start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
            meeting = client.request(
                "POST",
                "/users/me/meetings",
                operation="create_meeting",
                json={
                    "topic": "prefect-zoom demo",
                    "type": 2,
                    "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "duration": 30,
                },
            ).json()
            summary.add_row("scheduled meeting", f"{meeting['id']} at {meeting['start_time']}")

            yesterday = date.today() - timedelta(days=1)
            recordings = list(
                client.paginate(
                    "/users/me/recordings",
                    "meetings",
                    {"from": yesterday.isoformat(), "to": date.today().isoformat()},
                    operation="list_user_recordings",
                )
            )
            summary.add_row("recordings found", str(len(recordings)))

            first = recordings[0]["recording_files"][0]
            destination.mkdir(parents=True, exist_ok=True)
            target = destination / f"{first['id']}.{first['file_extension'].lower()}"
            digest = hashlib.sha256()
            with (
                client.stream(
                    "GET", first["download_url"], operation="download_recording_file"
                ) as response,
                target.open("wb") as out,
            ):
                for piece in response.iter_bytes():
                    digest.update(piece)
                    out.write(piece)
            expected = zoom.control("GET", f"files/{first['id']}")["sha256"]
            verified = "verified" if digest.hexdigest() == expected else "MISMATCH"
            summary.add_row("downloaded", f"{target} ({target.stat().st_size:,} bytes, {verified})")
        console.print(summary)
        console.print(f"Done in {time.monotonic() - started:.1f} s; the emulator has stopped.")
        if verified != "verified":
            raise SystemExit("the downloaded file does not match the emulator's copy")


if __name__ == "__main__":
    main()
