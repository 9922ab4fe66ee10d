"""What the flows share: reading the connection, atomic CSV files and table artifacts."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE
from prefect.futures import PrefectFuture
from pydantic import BaseModel

from prefect_zoom.capabilities import can_run
from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.client.calls import call_json
from prefect_zoom.exceptions import ZoomAPIError, ZoomInputError, ZoomMissingScopesError
from prefect_zoom.tasks._common import load_credentials, run_logger
from prefect_zoom.transfer.files import atomic_file

MAX_ARTIFACT_ROWS = 500
"""Table artifacts show at most this many rows; the CSV file holds them all."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is a formula to a spreadsheet (OWASP's list)."""


class ConnectionInfo(BaseModel):
    """A connection as its token and ``GET /users/me`` describe it (no secrets)."""

    block_name: str
    block_type: str
    api_base_url: str
    scopes: list[str]
    user: dict[str, Any] | None = None


@task(name="Zoom: read connection", cache_policy=NONE, tags={"zoom"})
def read_connection(credentials_block: str) -> ConnectionInfo:
    """Get a token for the saved connection: its granted scopes and, when allowed, ``me``."""
    block = load_credentials(credentials_block)
    with block.get_client() as client:
        client.tokens.get_token()
        scopes = sorted(set(client.granted_scopes or block.scopes))
        user: dict[str, Any] | None = None
        if not scopes or can_run(scopes, "get_user"):
            try:
                data = call_json(client, OPERATIONS["get_user"].bind(user_id="me"))
            except ZoomMissingScopesError:
                data = None
            user = data if isinstance(data, dict) else None
    return ConnectionInfo(
        block_name=credentials_block,
        block_type=block.get_block_type_name(),
        api_base_url=block.api_base_url,
        scopes=scopes,
        user=user,
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: text that would start a formula gets a ``'``."""
    text = _cell(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def without_passcode(url: str | None) -> str | None:
    """A join URL without its ``pwd`` parameter (the passcode, which lets anyone straight in)."""
    if not url:
        return url
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "pwd"]
    return urlunsplit(parts._replace(query=urlencode(kept)))


@task(name="Zoom: write CSV file", cache_policy=NONE)
def write_csv(path: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """Write rows to a CSV file atomically (a temporary file, then a rename); return its path.

    Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) is
    written with a leading ``'``.
    """
    target = Path(path).expanduser().resolve()
    with atomic_file(target, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: csv_cell(row.get(column)) for column in columns})
    run_logger().info("Wrote %d row(s) to %s", len(rows), target)
    return str(target)


def publish_table(
    key: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], description: str
) -> None:
    """A table artifact of the rows (the first ``MAX_ARTIFACT_ROWS`` of them)."""
    shown = [{column: _cell(row.get(column)) for column in columns} for row in rows]
    if len(shown) > MAX_ARTIFACT_ROWS:
        description += f"\n\nShowing the first {MAX_ARTIFACT_ROWS} of {len(shown)} rows."
        shown = shown[:MAX_ARTIFACT_ROWS]
    table: list[dict[str, str]] | dict[str, list[str]] = shown or {column: [] for column in columns}
    create_table_artifact(table=table, key=key, description=description)


def describe_error(error: BaseException | None) -> str:
    """A one-line error for the result table (Zoom's message, status, code and fields)."""
    if isinstance(error, ZoomInputError):
        return f"{error.field}: {error.problem}"
    if isinstance(error, ZoomAPIError):
        details = [f"HTTP {error.status}" if error.status else "no answer"]
        if error.code is not None:
            details.append(f"code {error.code}")
        fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in error.errors)
        text = f"{error.message} ({', '.join(details)})"
        return f"{text} [{fields}]" if fields else text
    if error is None:
        return "unknown error"
    return f"{type(error).__name__}: {error}"


def task_outcome(future: PrefectFuture[Any]) -> tuple[Any, BaseException | None]:
    """Wait for a submitted task: ``(result, None)`` when it completed, else ``(None, error)``
    (a row's failure is reported with its row instead of failing the flow)."""
    future.wait()
    state = future.state
    if state.is_completed():
        return state.result(), None
    error = state.result(raise_on_failure=False)
    if not isinstance(error, BaseException):
        error = RuntimeError(state.message or f"the task ended {state.name}")
    return None, error
