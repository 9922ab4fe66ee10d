"""How the CLI commands speak: plain text to stdout, problems (and what to do) to stderr."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text


def stdout() -> Console:
    """A console on stdout that prints values as they are (no highlighting)."""
    return Console(highlight=False)


def stderr() -> Console:
    """A console on stderr that prints values as they are (no highlighting)."""
    return Console(stderr=True, highlight=False)


def say(console: Console, text: str, style: str | None = None) -> None:
    """Print plain text (no markup, no wrapping inside words): values may hold brackets."""
    console.print(Text(text, style=style or ""), soft_wrap=True)


def fail(message: str, *, hint: str | None = None) -> NoReturn:
    """Print the problem (and what to do) to stderr and exit with status 1."""
    err = stderr()
    say(err, f"Error: {message}", "bold red")
    if hint:
        say(err, hint, "yellow")
    raise typer.Exit(code=1)
