"""``prefect-zoom webhook serve``: receive Zoom webhooks and emit them as Prefect events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

webhook_app = typer.Typer(
    help="Receive Zoom webhooks (Event Subscriptions) as Prefect events.",
    no_args_is_help=True,
)

SECRET_ENV = "ZOOM_WEBHOOK_SECRET_TOKEN"


def _load_secret_block(name: str) -> str:
    """The value of a Prefect ``Secret`` block."""
    from prefect.blocks.system import Secret

    try:
        block: Secret[str] = Secret.load(name, _sync=True)  # type: ignore[call-arg,assignment]
    except Exception as error:  # not found, no API: name the kind, never the value
        raise typer.BadParameter(
            f"no Secret block named {name!r} could be loaded ({type(error).__name__})",
            param_hint="--secret-block",
        ) from None
    value = block.get()
    if not isinstance(value, str) or not value:
        raise typer.BadParameter(
            f"the Secret block {name!r} does not hold a text secret token",
            param_hint="--secret-block",
        )
    return value


def resolve_secret(secret_token: str | None, secret_block: str | None) -> str:
    """The secret token from a ``Secret`` block if named, else ``--secret-token`` / the env var."""
    if secret_block:
        return _load_secret_block(secret_block)
    if secret_token:
        return secret_token
    raise typer.BadParameter(
        f"the app's webhook secret token is required: --secret-token, ${SECRET_ENV} "
        "or --secret-block NAME (a Prefect Secret block)"
    )


@webhook_app.command("serve")
def serve_command(
    secret_token: Annotated[
        str | None,
        typer.Option(
            envvar=SECRET_ENV,
            show_envvar=True,
            show_default=False,
            help="The Secret Token of the app's Event Subscriptions (Zoom Marketplace > Features).",
        ),
    ] = None,
    secret_block: Annotated[
        str | None,
        typer.Option(help="Name of a Prefect Secret block holding the secret token."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    public_url: Annotated[
        str | None,
        typer.Option(help="The public HTTPS base URL in front of this server (tunnel, proxy)."),
    ] = None,
    spool: Annotated[
        Path | None,
        typer.Option(
            help="The file where accepted events wait for Prefect (SQLite). One per receiver; "
            "[default: $PREFECT_HOME/zoom-webhooks/spool-PORT.sqlite3]",
            show_default=False,
        ),
    ] = None,
    body_timeout: Annotated[
        float,
        typer.Option(min=0.1, help="Seconds a sender may take to send a request body."),
    ] = 10.0,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve POST /zoom/webhook: verify Zoom's signatures, spool each event, answer, then hand
    it to Prefect."""
    import uvicorn

    from prefect_zoom.webhooks.receiver import WEBHOOK_PATH, ReceiverSettings, create_receiver_app
    from prefect_zoom.webhooks.spool import SpoolError, default_spool_path

    secret = resolve_secret(secret_token, secret_block)
    spool_path = spool or default_spool_path(port)
    try:
        settings = ReceiverSettings(body_timeout=body_timeout)
        app = create_receiver_app(secret, spool=spool_path, settings=settings)
    except SpoolError as error:
        raise typer.BadParameter(str(error), param_hint="--spool") from None
    console = Console()
    local = f"http://{host}:{port}{WEBHOOK_PATH}"
    console.print(f"Receiving Zoom webhooks on [bold]{local}[/bold] (health: /health)")
    console.print(f"Accepted events wait for Prefect in {spool_path}")
    if public_url:
        console.print(
            f"Event notification endpoint URL to register in the Zoom Marketplace: "
            f"[bold]{public_url.rstrip('/')}{WEBHOOK_PATH}[/bold]"
        )
    else:
        console.print(
            "Register https://<your public host>" + WEBHOOK_PATH + " in the Zoom Marketplace "
            "(Features > Event Subscriptions); Zoom needs a public HTTPS address, so put a "
            "tunnel or reverse proxy in front of this server."
        )
    console.print("Events become Prefect events named zoom.<event>. Press Ctrl+C to stop.")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
    )
