"""``zoom-emulator`` (also ``python -m zoom_emulator`` and ``prefect-zoom emulator``): run a local
Zoom in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zoom_emulator.config import EmulatorConfig, FaultSettings, RatePlan
from zoom_emulator.server import ZoomEmulator

app = typer.Typer(name="zoom-emulator", add_completion=False)

_defaults = EmulatorConfig()


def emulator_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 0,
    access_token_ttl: Annotated[int, typer.Option(help="Seconds an access token lives.")] = 3600,
    rate_limits: Annotated[
        str, typer.Option(help="Rate-limit table to enforce: pro, business or off.")
    ] = "off",
    fault_rate: Annotated[
        float, typer.Option(help="Share of API requests answered with a 5xx (0..1).")
    ] = 0.0,
    seed_users: Annotated[int, typer.Option(help="Users on the account, the owner included.")] = 1,
    recordings_per_user: Annotated[int, typer.Option(help="Recorded meetings per user.")] = 2,
    recording_bytes: Annotated[int, typer.Option(help="Size of each seeded MP4 file.")] = 1_000_000,
    require_preapproval: Annotated[
        bool, typer.Option(help="The account requires admins to pre-approve apps.")
    ] = False,
    s2s_single_token: Annotated[
        bool, typer.Option(help="A new Server-to-Server token invalidates the older ones.")
    ] = False,
    account_id: Annotated[str, typer.Option(help="The account id.")] = _defaults.account_id,
    user_email: Annotated[
        str, typer.Option(help="The owner's sign-in email.")
    ] = _defaults.user_email,
    user_password: Annotated[
        str, typer.Option(help="The owner's sign-in password.")
    ] = _defaults.user_password,
    oauth_client_id: Annotated[
        str, typer.Option(help="Client id of the built-in OAuth app.")
    ] = _defaults.oauth_client_id,
    oauth_client_secret: Annotated[
        str, typer.Option(help="Client secret of the built-in OAuth app.")
    ] = _defaults.oauth_client_secret,
    s2s_client_id: Annotated[
        str, typer.Option(help="Client id of the built-in Server-to-Server app.")
    ] = _defaults.s2s_client_id,
    s2s_client_secret: Annotated[
        str, typer.Option(help="Client secret of the built-in Server-to-Server app.")
    ] = _defaults.s2s_client_secret,
    webhook_secret_token: Annotated[
        str, typer.Option(help="Secret token that signs the emulator's webhooks.")
    ] = _defaults.webhook_secret_token,
) -> None:
    """Run a local Zoom (OAuth, REST v2, recordings) until interrupted."""
    if rate_limits not in ("pro", "business", "off"):
        raise typer.BadParameter("use pro, business or off", param_hint="--rate-limits")
    plan: RatePlan = rate_limits  # type: ignore[assignment]
    config = EmulatorConfig(
        account_id=account_id,
        user_email=user_email,
        user_password=user_password,
        oauth_client_id=oauth_client_id,
        oauth_client_secret=oauth_client_secret,
        s2s_client_id=s2s_client_id,
        s2s_client_secret=s2s_client_secret,
        webhook_secret_token=webhook_secret_token,
        access_token_ttl=access_token_ttl,
        rate_limits=plan,
        require_preapproval=require_preapproval,
        s2s_single_token=s2s_single_token,
        seed_users=seed_users,
        recordings_per_user=recordings_per_user,
        recording_bytes=recording_bytes,
        faults=FaultSettings(error_rate=fault_rate),
    )
    emulator = ZoomEmulator(config, host=host, port=port or None, log_level="warning")
    console = Console()
    table = Table(title="Zoom emulator", show_header=False)
    table.add_row("base URL", emulator.base_url)
    table.add_row("API URL", emulator.api_url)
    table.add_row("OAuth URL", emulator.oauth_url)
    table.add_row("account id", config.account_id)
    table.add_row("OAuth app", f"{config.oauth_client_id} / {config.oauth_client_secret}")
    table.add_row("Server-to-Server app", f"{config.s2s_client_id} / {config.s2s_client_secret}")
    table.add_row("sign-in user", f"{config.user_email} / {config.user_password}")
    table.add_row("webhook secret token", config.webhook_secret_token)
    table.add_row("controls", f"{emulator.base_url}/_emulator/docs")

    def banner() -> None:
        console.print(table)
        console.print("Press Ctrl+C to stop.")

    emulator.serve_forever(on_ready=banner)


app.command(name="zoom-emulator")(emulator_command)


def main() -> None:
    """Console-script entry point (``zoom-emulator``)."""
    app()
