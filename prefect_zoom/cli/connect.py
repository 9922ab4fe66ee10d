"""``prefect-zoom connect oauth|s2s`` and ``prefect-zoom check``: make and test Zoom connections.

Connections are saved as Prefect blocks. Output shows block names, client ids, the connected
user and scopes; it never shows a client secret, a code or a token.
"""

from __future__ import annotations

import shlex
import webbrowser
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, cast

import httpx
import typer
from pydantic import SecretStr
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from prefect_zoom.auth.authorize import (
    DEFAULT_TIMEOUT,
    PREAPPROVAL_ADVICE,
    AuthorizationCodeFlow,
    SignInError,
)
from prefect_zoom.auth.locks import ConnectionLockTimeout, connection_lock
from prefect_zoom.blocks import ZoomOAuthCredentials, ZoomServerToServerCredentials
from prefect_zoom.blocks._base import DEFAULT_OAUTH_BASE_URL, ZoomCredentialsBase, checked_base_url
from prefect_zoom.capabilities import Capability, activity_capabilities, flow_capabilities
from prefect_zoom.catalog import OPERATIONS, Operation
from prefect_zoom.cli._output import fail, say, stdout
from prefect_zoom.client._base import DEFAULT_API_BASE_URL
from prefect_zoom.client.calls import call_json
from prefect_zoom.exceptions import (
    ZoomAPIError,
    ZoomAuthError,
    ZoomAuthorizeAgainError,
    ZoomInputError,
    ZoomMissingScopesError,
    ZoomPreapprovalRequiredError,
)

connect_app = typer.Typer(
    name="connect",
    help="Connect a Zoom account and save the connection as a Prefect block.",
    no_args_is_help=True,
    add_completion=False,
)

BlockOption = Annotated[str, typer.Option("--block", help="Name of the Prefect block to save.")]
SecretOption = Annotated[
    str | None,
    typer.Option(
        "--client-secret",
        envvar="ZOOM_CLIENT_SECRET",
        show_envvar=True,
        help="Client secret of the Zoom app (better: set ZOOM_CLIENT_SECRET).",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="One base URL for both Zoom APIs: REST at {url}/v2, OAuth at {url}/oauth "
        "(for the local emulator). Default: Zoom's real ones.",
    ),
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace a block that already has this name.")
]


# ---- helpers ---------------------------------------------------------------------------------
def _base_urls(base_url: str | None) -> tuple[str, str]:
    """(REST API base, OAuth base) for ``--base-url`` (or Zoom's real ones)."""
    if not base_url:
        return DEFAULT_API_BASE_URL, DEFAULT_OAUTH_BASE_URL
    try:
        root = checked_base_url("--base-url", base_url).rstrip("/")
    except ZoomInputError as exc:
        fail(str(exc))
    return f"{root}/v2", f"{root}/oauth"


def _load(cls: type[ZoomCredentialsBase], name: str) -> ZoomCredentialsBase | None:
    """The saved block of this type, or ``None`` when there is none by that name."""
    try:
        block = cls.load(name, _sync=True)  # type: ignore[call-arg]
    except ValueError:
        return None
    return cast(ZoomCredentialsBase, block)


def _require_secret(client_secret: str | None) -> str:
    if not client_secret:
        fail(
            "the Zoom app's client secret is missing.",
            hint="Set the ZOOM_CLIENT_SECRET environment variable (or pass --client-secret).",
        )
    return client_secret


@contextmanager
def _zoom_errors(action: str, hint: str | None = None) -> Iterator[None]:
    """Turn Zoom and network errors into a clear message and exit status 1."""
    try:
        yield
    except ZoomPreapprovalRequiredError as exc:
        fail(f"{action}: {exc.message}", hint=f"The cause: {PREAPPROVAL_ADVICE}.")
    except ZoomAPIError as exc:
        fail(f"{action}:\n{exc}", hint=hint)
    except ZoomInputError as exc:
        fail(f"{action}: {exc}", hint=hint)
    except httpx.HTTPError as exc:
        fail(f"{action}: Zoom could not be reached ({type(exc).__name__}: {exc}).", hint=hint)


def _who(block: ZoomCredentialsBase) -> dict[str, Any] | None:
    """``GET /users/me`` through the block's client; ``None`` when the scopes do not allow it."""
    with block.get_client() as client:
        try:
            me = call_json(client, OPERATIONS["get_user"].bind(user_id="me"))
        except ZoomMissingScopesError:
            client.tokens.get_token()  # still prove that the connection gets a token
            return None
    return me if isinstance(me, dict) else None


def _describe_user(me: dict[str, Any] | None) -> str:
    if me is None:
        return "unknown (the connection has no scope to read users: add user:read)"
    name = " ".join(str(me.get(k) or "") for k in ("first_name", "last_name")).strip()
    email = str(me.get("email") or me.get("id") or "?")
    account = me.get("account_id")
    parts = [email]
    if name:
        parts.append(f"({name})")
    if account:
        parts.append(f"on account {account}")
    return " ".join(parts)


def _mark(ok: bool) -> Text:
    return Text("✓", style="green") if ok else Text("✗", style="red")


WIDE_LAYOUT_COLUMNS = 120
"""Narrower consoles (80 columns, or output piped to a file) get lists instead of tables."""


def _flow_lacks(flow: Capability) -> list[str]:
    """What a flow lacks: required operations, then optional features, with their scopes."""
    lacks = [f"{gap.operation} ({' or '.join(gap.scopes_to_add)})" for gap in flow.gaps]
    lacks += [
        f"optional: {option.feature} needs "
        + ", ".join(f"{gap.operation} ({' or '.join(gap.scopes_to_add)})" for gap in option.gaps)
        for option in flow.unavailable_options
    ]
    return lacks


def _activities_table(activities: list[Capability]) -> Table:
    """✓/✗ per catalog operation, with the scopes that would allow it."""
    table = Table(title="Activities", title_justify="left")
    table.add_column("activity", no_wrap=True)
    table.add_column("Zoom call", no_wrap=True)
    table.add_column("ok", justify="center", no_wrap=True)
    table.add_column("scopes to add (any one of them)", overflow="fold")
    for activity in activities:
        table.add_row(
            activity.name,
            activity.summary,
            _mark(activity.can_run),
            Text(", ".join(activity.scopes_to_add)),
        )
    return table


def _flows_table(flows: list[Capability]) -> Table:
    """✓/✗ per ready-made flow, with what it lacks (required, then optional features)."""
    table = Table(title="Flows", title_justify="left")
    table.add_column("flow", no_wrap=True)
    table.add_column("ok", justify="center", no_wrap=True)
    table.add_column("lacks", overflow="fold")
    for flow in flows:
        table.add_row(flow.name, _mark(flow.can_run), Text("; ".join(_flow_lacks(flow))))
    return table


def _capability_list(
    title: str, entries: list[Capability], details: Callable[[Capability], list[str]]
) -> Group:
    """A narrow console's layout: one line per entry, what it lacks indented below it."""
    lines: list[RenderableType] = [Text(title, style="bold")]
    for entry in entries:
        line = Text.assemble(_mark(entry.can_run), f" {entry.name}")
        if entry.kind == "activity":
            line.append(f"  {entry.summary}")
        lines.append(line)
        lines += [
            Padding(Text(detail, overflow="fold"), (0, 0, 0, 4), expand=False)
            for detail in details(entry)
        ]
    return Group(*lines, Text(""))


def _print_capabilities(out: Console, scopes: Iterable[str]) -> list[Capability]:
    """Activities and flows as tables on a wide console, as lists on a narrow one (every
    column stays visible); returns every activity listed."""
    granted = list(scopes)
    activities = activity_capabilities(granted)
    flows = flow_capabilities(granted)
    if out.width >= WIDE_LAYOUT_COLUMNS:
        out.print(_activities_table(activities))
        out.print(_flows_table(flows))
    else:
        out.print(
            _capability_list(
                "Activities",
                activities,
                lambda a: [f"add any one of: {', '.join(a.scopes_to_add)}"] if a.gaps else [],
            )
        )
        out.print(_capability_list("Flows", flows, _flow_lacks))
    return activities


def _broken_hint(connection: ZoomCredentialsBase, name: str) -> str:
    if isinstance(connection, ZoomOAuthCredentials):
        return f"Authorize the Zoom app again: {connection.connect_command(name)}"
    return (
        "Check the app's credentials in the Zoom App Marketplace, then save them again: "
        + connection.connect_command(name)
    )


def _report(block: ZoomCredentialsBase, name: str, me: dict[str, Any] | None) -> list[Operation]:
    """Who is connected, the granted scopes and what the connection can run."""
    out = stdout()
    say(out, f"Block: {name} ({block.get_block_type_name()}), client id {block.client_id}")
    say(out, f"Zoom API: {block.api_base_url}")
    say(out, f"Connected as: {_describe_user(me)}")
    scopes = sorted(block.scopes)
    if scopes:
        say(out, f"Granted scopes ({len(scopes)}): {', '.join(scopes)}")
    else:
        say(out, "Granted scopes: Zoom reported none.", "yellow")
    activities = _print_capabilities(out, scopes)
    missing = [OPERATIONS[a.name] for a in activities if not a.can_run]
    if missing:
        names = ", ".join(op.name for op in missing)
        reconnect = block.connect_command(name)
        say(
            out,
            f"{len(missing)} of {len(activities)} activities lack a scope: {names}. To run them, "
            "add one of the listed scopes for each in the Zoom App Marketplace (Manage → your "
            f"app → Scopes), then connect again: {reconnect}",
            "yellow",
        )
    else:
        say(out, f"All {len(activities)} activities can run.", "green")
    return missing


# ---- connect oauth ---------------------------------------------------------------------------
def _reconnect_settings(
    existing: ZoomOAuthCredentials, base_url: str | None
) -> tuple[ZoomOAuthCredentials, str]:
    """A copy of an existing connection to authorize again, and its client secret."""
    with _zoom_errors("the client secret of the saved connection could not be read"):
        secret = existing.read_client_secret()
    fields = existing.model_dump(exclude={"access_token", "refresh_token", "expires_at"})
    block = ZoomOAuthCredentials(
        **{k: v for k, v in fields.items() if k in ZoomOAuthCredentials.model_fields}
    )
    if base_url:
        block.api_base_url, block.oauth_base_url = _base_urls(base_url)
    return block, secret


@connect_app.command("oauth")
def connect_oauth(
    block: BlockOption,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="Client ID of the Zoom OAuth app. Leave out to authorize an existing block again.",
        ),
    ] = None,
    client_secret: SecretOption = None,
    base_url: BaseUrlOption = None,
    redirect_port: Annotated[
        int,
        typer.Option(
            "--redirect-port",
            help="Port of the loopback redirect http://127.0.0.1:PORT/callback (0: a free one).",
        ),
    ] = 0,
    no_browser: Annotated[
        bool,
        typer.Option("--no-browser", help="Do not open a browser; open the printed URL yourself."),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the browser sign-in.")
    ] = DEFAULT_TIMEOUT,
    overwrite: OverwriteOption = False,
) -> None:
    """Sign in to Zoom in a browser (OAuth authorization code) and save the connection."""
    existing = _load(ZoomOAuthCredentials, block)
    if existing is not None and client_id is not None and not overwrite:
        fail(
            f"a Zoom OAuth block named {block!r} already exists.",
            hint=(
                "Pass --overwrite to replace it, or run "
                f"`{existing.connect_command(block)}` without --client-id "
                "to authorize it again with its saved app settings."
            ),
        )
    if existing is not None and client_id is None:
        assert isinstance(existing, ZoomOAuthCredentials)
        connection, secret = _reconnect_settings(existing, base_url)
    elif client_id is None:
        fail(
            f"no Zoom OAuth block named {block!r} exists yet, so --client-id is required.",
            hint="Pass --client-id and the client secret (ZOOM_CLIENT_SECRET) of your Zoom app.",
        )
    else:
        secret = _require_secret(client_secret)
        api_url, oauth_url = _base_urls(base_url)
        connection = ZoomOAuthCredentials(
            client_id=client_id,
            client_secret=SecretStr(secret),
            api_base_url=api_url,
            oauth_base_url=oauth_url,
        )

    out = stdout()
    try:
        flow = AuthorizationCodeFlow(
            connection.client_id,
            secret,
            connection.oauth_base_url,
            redirect_port=redirect_port,
            timeout=timeout,
        )
    except OSError as exc:
        fail(
            f"could not listen on 127.0.0.1:{redirect_port} for Zoom's redirect ({exc}).",
            hint="Pass another --redirect-port, or 0 for a free one.",
        )
    with flow:
        say(out, f"Connecting Zoom block {block!r} with client id {connection.client_id}.")
        say(out, "Open this URL in a browser, sign in to Zoom and choose Allow:")
        say(out, flow.authorize_url)
        if not no_browser and not webbrowser.open(flow.authorize_url):
            say(out, "Could not open a browser: open the URL above yourself.", "yellow")
        say(out, f"Waiting up to {timeout:g} s for Zoom to redirect to {flow.redirect_uri} ...")
        try:
            code = flow.wait_for_code()
        except SignInError as exc:
            fail(str(exc))
        with _zoom_errors(
            "Zoom did not issue tokens for the sign-in",
            hint=f"Run `{connection.connect_command(block)}` again.",
        ):
            tokens = flow.exchange(code)

    connection.redirect_uri = flow.redirect_uri
    connection.store_tokens(tokens)
    # under the connection's lock: never in the middle of a worker's renew-and-save
    try:
        with connection_lock(block):
            connection.save(block, overwrite=True, _sync=True)  # type: ignore[call-arg]
    except ConnectionLockTimeout as exc:
        fail(
            f"Zoom authorized the connection, but it was not saved: {exc}",
            hint=f"Run `{connection.connect_command(block)}` again.",
        )
    say(out, f"Saved the connection as block {block!r}.", "green")
    with _zoom_errors("the new connection could not read the user"):
        me = _who(connection)
    _report(connection, block, me)


# ---- connect s2s -----------------------------------------------------------------------------
@connect_app.command("s2s")
def connect_s2s(
    block: BlockOption,
    account_id: Annotated[
        str, typer.Option("--account-id", help="Zoom account ID of the Server-to-Server app.")
    ],
    client_id: Annotated[
        str, typer.Option("--client-id", help="Client ID of the Server-to-Server OAuth app.")
    ],
    client_secret: SecretOption = None,
    base_url: BaseUrlOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Check Server-to-Server OAuth credentials with a token request and save the connection."""
    secret = _require_secret(client_secret)
    if not overwrite and _load(ZoomServerToServerCredentials, block) is not None:
        fail(
            f"a Zoom Server-to-Server block named {block!r} already exists.",
            hint="Pass --overwrite to replace it.",
        )
    api_url, oauth_url = _base_urls(base_url)
    connection = ZoomServerToServerCredentials(
        account_id=account_id,
        client_id=client_id,
        client_secret=SecretStr(secret),
        api_base_url=api_url,
        oauth_base_url=oauth_url,
    )
    hint = (
        "Check the account id, client id and client secret on the app's App Credentials page "
        "in the Zoom App Marketplace, and that the app is activated."
    )
    with _zoom_errors("Zoom did not accept the Server-to-Server credentials", hint=hint):
        connection.token_manager().get_token()
        me = _who(connection)
    connection.save(block, overwrite=overwrite, _sync=True)  # type: ignore[call-arg]
    say(stdout(), f"Saved the connection as block {block!r}.", "green")
    _report(connection, block, me)


# ---- check -----------------------------------------------------------------------------------
def check_command(
    block: Annotated[str, typer.Option("--block", help="Name of the Zoom connection block.")],
) -> None:
    """Check a saved Zoom connection: who it is, its scopes, and which activities it can run."""
    found = [
        b
        for b in (_load(ZoomOAuthCredentials, block), _load(ZoomServerToServerCredentials, block))
        if b is not None
    ]
    if not found:
        fail(
            f"no Zoom connection block named {block!r}.",
            hint=(
                f"Create one: prefect-zoom connect oauth --block {shlex.quote(block)} "
                "--client-id ...  or  prefect-zoom connect s2s --block "
                f"{shlex.quote(block)} --account-id ... --client-id ..."
            ),
        )
    for connection in found:
        hint = _broken_hint(connection, block)
        try:
            me = _who(connection)
        except ZoomAuthorizeAgainError as exc:
            fail(f"the connection {block!r} is no longer authorized: {exc.message}", hint=hint)
        except ZoomPreapprovalRequiredError as exc:
            fail(
                f"the connection {block!r} was cut off: {exc.message}",
                hint=f"The cause: {PREAPPROVAL_ADVICE}.",
            )
        except ZoomAuthError as exc:
            fail(f"Zoom rejects the connection {block!r}: {exc.message}", hint=hint)
        except (ZoomAPIError, ZoomInputError) as exc:
            fail(f"the connection {block!r} could not be checked:\n{exc}", hint=hint)
        except httpx.HTTPError as exc:
            fail(
                f"Zoom could not be reached at {connection.api_base_url} "
                f"({type(exc).__name__}: {exc}).",
                hint="Check the network, or the block's API base URL.",
            )
        _report(connection, block, me)
