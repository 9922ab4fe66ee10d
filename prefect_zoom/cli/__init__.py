"""The ``prefect-zoom`` command line."""

from __future__ import annotations

import logging
from collections.abc import Callable

import typer

from prefect_zoom.cli.connect import check_command, connect_app
from prefect_zoom.cli.serve import serve_command
from prefect_zoom.cli.webhook import webhook_app


def _emulator_command() -> Callable[..., None] | None:
    """``zoom-emulator``'s command, when the local Zoom (the ``emulator`` extra) is installed."""
    try:
        from zoom_emulator.cli import emulator_command
    except ImportError:  # pragma: no cover - only without the extra's dependencies
        return None
    return emulator_command


app = typer.Typer(
    name="prefect-zoom",
    help="Zoom for Prefect: connect accounts, check connections, run the local Zoom emulator.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Zoom for Prefect: connect accounts, check connections, run the local Zoom emulator."""


app.add_typer(connect_app, name="connect")
app.command("check")(check_command)
if (emulator_command := _emulator_command()) is not None:  # an alias of `zoom-emulator`
    app.command("emulator")(emulator_command)
app.command("serve")(serve_command)
app.add_typer(webhook_app, name="webhook")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    finally:
        quiet_prefect_at_exit()


def quiet_prefect_at_exit() -> None:
    """Keep Prefect's exit-time "Still processing items: N items remaining..." off the terminal.

    Prefect still sends the events a command queued (a block load, say) when the interpreter
    exits; a command that ends at once, as a failed one does, would otherwise finish with that
    warning after its own message.
    """
    logging.getLogger("EventsWorker").setLevel(logging.ERROR)
