"""What both Zoom credentials blocks share: the app's secret, base URLs, the cached token, clients.

The client secret is either stored in the block (``client_secret``) or kept in a Prefect ``Secret``
block whose *name* is given in ``client_secret_block_name`` (one secret, many connections; rotate
it in one place). Exactly one of the two must be set.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

import httpx
from prefect.blocks.abstract import CredentialsBlock
from pydantic import (
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from prefect_zoom.auth.endpoint import TokenEndpoint
from prefect_zoom.auth.manager import TokenManager
from prefect_zoom.auth.tokens import TokenSet
from prefect_zoom.client import AsyncZoomClient, ZoomClient
from prefect_zoom.client._base import DEFAULT_API_BASE_URL
from prefect_zoom.client.origins import ZOOM_DOMAINS, is_loopback, is_zoom_host
from prefect_zoom.client.pacing import RatePlan
from prefect_zoom.client.policy import RetryPolicy
from prefect_zoom.exceptions import ZoomInputError

DEFAULT_OAUTH_BASE_URL = "https://zoom.us/oauth"
ZOOM_LOGO_URL = (
    "https://upload.wikimedia.org/wikipedia/commons/thumb/7/7b/Zoom_Communications_Logo.svg/"
    "512px-Zoom_Communications_Logo.svg.png"
)
DOCS_URL = "https://github.com/prefect-zoom/prefect-zoom#connections"
CODE_EXAMPLE = """Load the connection and call Zoom:
```python
from prefect_zoom import {block_class}

zoom_credentials = {block_class}.load("BLOCK_NAME")
with zoom_credentials.get_client() as client:
    me = client.get_json("/users/me", operation="get_user")
```"""

logger = logging.getLogger("prefect_zoom.blocks")
_manager_guard = threading.Lock()
_warned_hosts: set[str] = set()


def checked_base_url(field: str, value: str) -> str:
    """A block's base URL, checked: ``https`` (plain ``http`` only on loopback), no credentials.

    Zoom's domains (ZoomGov's too) and loopback (the emulator) pass quietly; another host is
    accepted (a proxy) but logged as a warning once per host and process, since the client
    secret and the tokens go there.
    """
    default = {"api_base_url": DEFAULT_API_BASE_URL, "oauth_base_url": DEFAULT_OAUTH_BASE_URL}
    zoom_url = f" (Zoom's is {default[field]})" if field in default else ""
    fix = (
        f"Use https://{zoom_url}; plain http is accepted only on loopback (127.0.0.0/8, ::1, "
        "localhost), e.g. the local Zoom emulator"
    )
    try:
        url = httpx.URL(str(value).strip())
    except httpx.InvalidURL as error:
        raise ZoomInputError(field, f"is not a URL ({error})", fix) from None
    host = url.host
    if url.scheme not in ("http", "https") or not host:
        raise ZoomInputError(field, f"{value!r} is not an http(s) URL with a host", fix)
    if url.userinfo:
        raise ZoomInputError(
            field, "holds a user name or password", "Remove the 'user:password@' part"
        )
    if url.scheme == "http" and not is_loopback(host):
        raise ZoomInputError(
            field,
            f"uses plain http on {host}: the client secret and the tokens would cross the "
            "network unencrypted",
            fix,
        )
    if not is_zoom_host(host) and not is_loopback(host) and host not in _warned_hosts:
        _warned_hosts.add(host)
        logger.warning(
            "%s points at %s, which is not Zoom's (%s): the connection's client secret and "
            "tokens will be sent there. Keep it only if you trust that host.",
            field,
            host,
            ", ".join(ZOOM_DOMAINS),
        )
    return str(value).strip()


class ZoomCredentialsBase(CredentialsBlock, ABC):
    """Fields and behaviour shared by the Zoom credentials blocks (not a block type itself)."""

    # A refused value never reaches the error text: it may hold a secret (a client secret, a
    # password in a base URL).
    model_config = ConfigDict(hide_input_in_errors=True)

    _logo_url = HttpUrl(ZOOM_LOGO_URL)
    _documentation_url = HttpUrl(DOCS_URL)

    client_id: str = Field(
        default=...,
        title="Client ID",
        description="Client ID of the Zoom app (Zoom App Marketplace → your app → App Credentials).",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        title="Client Secret",
        description="Client secret of the Zoom app. Leave empty when client_secret_block_name is set.",
    )
    client_secret_block_name: str | None = Field(
        default=None,
        title="Client Secret Block Name",
        description=(
            "Name of a Prefect Secret block holding the client secret, instead of client_secret."
        ),
    )
    api_base_url: str = Field(
        default=DEFAULT_API_BASE_URL,
        title="API Base URL",
        description="Base URL of Zoom's REST API (change it only for the local Zoom emulator).",
    )
    oauth_base_url: str = Field(
        default=DEFAULT_OAUTH_BASE_URL,
        title="OAuth Base URL",
        description="Base URL of Zoom's OAuth endpoints (change it only for the local emulator).",
    )
    access_token: SecretStr | None = Field(
        default=None,
        description="The current access token; kept up to date by the pack, do not edit.",
    )
    expires_at: datetime | None = Field(
        default=None, description="When the access token expires (UTC); kept up to date."
    )
    issued_at: datetime | None = Field(
        default=None, description="When the access token was issued (UTC); kept up to date."
    )
    scopes: list[str] = Field(
        default_factory=list,
        description="Scopes Zoom granted to this connection; filled in when tokens are issued.",
    )
    rate_plan: RatePlan | None = Field(
        default=None,
        title="Rate Plan",
        description=(
            "The Zoom account's plan for rate limits (pro, or business for Business and up): "
            "requests are paced to its limits from the first one, shared by every worker on "
            "this Prefect API. Empty: learned from Zoom's first rate-limit answer."
        ),
    )

    _token_manager: TokenManager | None = PrivateAttr(default=None)
    _resolved_secret: str | None = PrivateAttr(default=None)

    @field_validator("api_base_url", "oauth_base_url")
    @classmethod
    def _https_or_loopback(cls, value: str, info: ValidationInfo) -> str:
        return checked_base_url(info.field_name or "base_url", value)

    @model_validator(mode="after")
    def _one_secret(self) -> ZoomCredentialsBase:
        if self.client_secret is None and not self.client_secret_block_name:
            raise ZoomInputError(
                "client_secret",
                "neither client_secret nor client_secret_block_name is set",
                "Give the Zoom app's client secret, or the name of a Prefect Secret block "
                "holding it",
            )
        if self.client_secret is not None and self.client_secret_block_name:
            raise ZoomInputError(
                "client_secret_block_name",
                "both client_secret and client_secret_block_name are set",
                "Keep only one of them",
            )
        return self

    # ---- secrets ---------------------------------------------------------------------------
    def read_client_secret(self) -> str:
        """The app's client secret in clear, from ``client_secret`` or the named Secret block
        (loaded once). Pass it only to Zoom; never log or print it."""
        if self.client_secret is not None:
            return self.client_secret.get_secret_value()
        if self._resolved_secret is None:
            from prefect.blocks.system import Secret

            name = cast(str, self.client_secret_block_name)
            secret = cast("Secret[Any]", Secret.load(name, _sync=True))  # type: ignore[call-arg]
            self._resolved_secret = str(secret.get())
        return self._resolved_secret

    def _endpoint(self) -> TokenEndpoint:
        return TokenEndpoint(
            self.oauth_base_url,
            self.client_id,
            self.read_client_secret,
            reconnect_command=self.reconnect_command(),
        )

    # ---- the cached token ------------------------------------------------------------------
    def _saved_name(self) -> str | None:
        """The block document name when this block was saved or loaded by name."""
        if getattr(self, "_is_anonymous", False):
            return None
        name = getattr(self, "_block_document_name", None)
        return str(name) if name else None

    def _lock_key(self) -> str:
        name = self._saved_name()
        return name if name else f"unsaved-{self.get_block_type_slug()}-{self.client_id}"

    def _tokens(self) -> TokenSet | None:
        if self.access_token is None or self.expires_at is None:
            return None
        return TokenSet(
            access_token=self.access_token,
            refresh_token=getattr(self, "refresh_token", None),
            expires_at=self.expires_at,
            issued_at=self.issued_at or self.expires_at,
            scopes=list(self.scopes),
        )

    def store_tokens(self, tokens: TokenSet) -> None:
        """Keep Zoom's latest tokens in this block (written when the block is saved)."""
        self.access_token = tokens.access_token
        self.expires_at = tokens.expires_at
        self.issued_at = tokens.issued_at
        self.scopes = list(tokens.scopes)

    @abstractmethod
    def connect_command(self, name: str | None = None) -> str:
        """The ``prefect-zoom connect`` command that makes this connection again and saves it
        as block ``name`` (default: the name it was saved or loaded under)."""

    def reconnect_command(self) -> str | None:
        """The command that makes a new connection in place of this one (``None``: not needed)."""
        return None

    @abstractmethod
    def _new_token_manager(self) -> TokenManager:
        """Build this connection's token manager."""

    def token_manager(self) -> TokenManager:
        """The token manager of this block object (one per object, shared by its clients)."""
        with _manager_guard:
            if self._token_manager is None:
                self._token_manager = self._new_token_manager()
            return self._token_manager

    # ---- Prefect's block page --------------------------------------------------------------
    @classmethod
    def get_code_example(cls) -> str:
        """The example Prefect shows on the block's page: load it and call Zoom."""
        return CODE_EXAMPLE.format(block_class=cls.__name__)

    # ---- clients ---------------------------------------------------------------------------
    def budget_account_id(self) -> str | None:
        """The Zoom account whose rate budget this connection's requests spend (``None``: not in
        the block; a connection served by name learns it from Zoom once per process, see
        :meth:`prefect_zoom.connections.Connection.account`, else each process paces alone)."""
        return None

    def client_settings(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The client's settings: the caller's, with this connection's account and plan."""
        settings = {"account_id": self.budget_account_id(), **kwargs}
        policy = settings.get("policy") or RetryPolicy()
        if policy.rate_plan is None and self.rate_plan is not None:
            policy = replace(policy, rate_plan=self.rate_plan)
        settings["policy"] = policy
        return settings

    def get_client(self, **kwargs: Any) -> ZoomClient:
        """A synchronous client for Zoom's REST API (close it, or use it in a ``with``)."""
        return ZoomClient(self.api_base_url, self.token_manager(), **self.client_settings(kwargs))

    def get_async_client(self, **kwargs: Any) -> AsyncZoomClient:
        """An asynchronous client for Zoom's REST API (use it in an ``async with``)."""
        return AsyncZoomClient(
            self.api_base_url, self.token_manager(), **self.client_settings(kwargs)
        )
