"""Connections to an emulator for tests: the browser part of OAuth done with plain httpx, blocks."""

from __future__ import annotations

import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from helpers.prefect_server import prefect_env
from prefect_zoom import ZoomOAuthCredentials, ZoomServerToServerCredentials
from prefect_zoom.auth.endpoint import TokenEndpoint
from prefect_zoom.blocks._base import ZoomCredentialsBase
from zoom_emulator import ZoomEmulator

REDIRECT_URI = "http://127.0.0.1:8765/callback"


def session_worker_env() -> dict[str, str]:
    """The environment of a worker process on this test session's Prefect API and home."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    home = Path(PREFECT_HOME.value())
    return prefect_env(home, str(PREFECT_API_URL.value()), PREFECT_LOGGING_LEVEL="WARNING")


B = TypeVar("B", bound=ZoomCredentialsBase)


def load_block(block_class: type[B], name: str) -> B:
    """``Block.load`` with its type (Prefect types it as "maybe a coroutine")."""
    return cast(B, block_class.load(name, _sync=True))  # type: ignore[call-arg]


async def aload_block(block_class: type[B], name: str) -> B:
    """``Block.aload`` with its type."""
    return cast(B, await block_class.aload(name))


class _Forms(HTMLParser):
    """The forms of a page: action, inputs and buttons (name -> value)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str], dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((attr.get("action", ""), {}, {}))
        elif tag == "input" and self.forms and attr.get("name"):
            self.forms[-1][1][attr["name"]] = attr.get("value", "")
        elif tag == "button" and self.forms and attr.get("name"):
            self.forms[-1][2][attr.get("value", "")] = attr["name"]


def _form(html: str) -> tuple[str, dict[str, str], dict[str, str]]:
    parser = _Forms()
    parser.feed(html)
    assert parser.forms, html
    return parser.forms[0]


def authorize_code(emulator: ZoomEmulator, redirect_uri: str = REDIRECT_URI) -> str:
    """Sign in as the emulator's owner and allow the built-in OAuth app; return the code."""
    config = emulator.config
    with httpx.Client(base_url=emulator.base_url, follow_redirects=False, timeout=10) as client:
        page = client.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": config.oauth_client_id,
                "redirect_uri": redirect_uri,
                "state": "test-state",
            },
        )
        assert page.status_code == 200, page.text
        action, fields, _ = _form(page.text)
        fields.update(email=config.user_email, password=config.user_password)
        consent = client.post(urljoin(str(page.url), action), data=fields)
        assert consent.status_code == 200, consent.text
        action, fields, buttons = _form(consent.text)
        fields[buttons["allow"]] = "allow"
        redirect = client.post(urljoin(str(consent.url), action), data=fields)
        assert redirect.status_code in (302, 303), redirect.text
    query = parse_qs(urlsplit(redirect.headers["location"]).query)
    return query["code"][0]


def oauth_credentials(emulator: ZoomEmulator) -> ZoomOAuthCredentials:
    """An OAuth connection to the emulator, with tokens from a real authorization-code flow."""
    config = emulator.config
    block = ZoomOAuthCredentials(
        client_id=config.oauth_client_id,
        client_secret=config.oauth_client_secret,
        redirect_uri=REDIRECT_URI,
        api_base_url=emulator.api_url,
        oauth_base_url=emulator.oauth_url,
    )
    endpoint = TokenEndpoint(
        emulator.oauth_url, config.oauth_client_id, lambda: config.oauth_client_secret
    )
    tokens = endpoint.exchange_code(authorize_code(emulator), REDIRECT_URI)
    block.store_tokens(tokens)
    return block


def mint_token(emulator: ZoomEmulator, scopes: list[str], *, kind: str = "s2s") -> str:
    """An access token put straight into the emulator's state (no grant, no counters)."""
    state, config = emulator.state, emulator.config
    if kind == "s2s":
        app = state.apps[config.s2s_client_id]
        return state.issue_access_token(app, user_id=None, scopes=scopes).value
    app = state.apps[config.oauth_client_id]
    return state.issue_access_token(app, user_id=state.owner().id, scopes=scopes).value


def s2s_credentials(emulator: ZoomEmulator) -> ZoomServerToServerCredentials:
    """A Server-to-Server connection to the emulator (no token yet)."""
    config = emulator.config
    return ZoomServerToServerCredentials(
        account_id=config.account_id,
        client_id=config.s2s_client_id,
        client_secret=config.s2s_client_secret,
        api_base_url=emulator.api_url,
        oauth_base_url=emulator.oauth_url,
    )


def s2s_block_without(emulator: ZoomEmulator, prefix: str) -> str:
    """The name of a saved Server-to-Server block whose app lost every scope starting ``prefix``."""
    app = emulator.state.apps[emulator.config.s2s_client_id]
    app.scopes = [s for s in app.scopes if not s.startswith(prefix)]
    name = f"zoom-s2s-{uuid.uuid4().hex[:10]}"
    s2s_credentials(emulator).save(name, overwrite=True)
    return name


def connect_s2s_args(emulator: ZoomEmulator, block: str) -> list[str]:
    """``prefect-zoom connect s2s`` arguments for the emulator's app (the secret comes apart)."""
    config = emulator.config
    return [
        "connect",
        "s2s",
        "--block",
        block,
        "--account-id",
        config.account_id,
        "--client-id",
        config.s2s_client_id,
        "--base-url",
        emulator.base_url,
    ]


class Renewing:
    """A token provider (no I/O) that hands out a new token each time Zoom rejects one."""

    def __init__(self, scopes: list[str] | None = None) -> None:
        self.n = 1
        self.rejected: list[str] = []
        self._scopes = scopes

    def get_token(self) -> str:
        return f"tok-{self.n}"

    async def aget_token(self) -> str:
        return self.get_token()

    def on_invalid_token(self, rejected: str) -> None:
        self.rejected.append(rejected)
        self.n += 1

    async def aon_invalid_token(self, rejected: str) -> None:
        self.on_invalid_token(rejected)

    @property
    def granted_scopes(self) -> list[str] | None:
        return self._scopes

    @property
    def reconnect_command(self) -> str | None:
        return "prefect-zoom connect oauth --block test"
