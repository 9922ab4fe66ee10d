"""The credentials blocks: Prefect's block standards, secrets, and real connections to the emulator."""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from helpers.connections import aload_block, load_block, oauth_credentials, s2s_credentials
from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr, ValidationError

from prefect_zoom import (
    ZoomAuthorizeAgainError,
    ZoomOAuthCredentials,
    ZoomServerToServerCredentials,
)
from zoom_emulator import ZoomEmulator


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def expire_everywhere(emulator: ZoomEmulator) -> None:
    """Make Zoom consider every access token expired (the pack's clock still thinks otherwise)."""
    for token in emulator.state.access_tokens.values():
        token.expires_at = time.time() - 1


# ---- Prefect's block standards ------------------------------------------------------------------
@pytest.mark.parametrize("block_class", [ZoomOAuthCredentials, ZoomServerToServerCredentials])
class TestBlockStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self, block_class: type[Block]) -> type[Block]:
        return block_class

    def test_has_a_valid_image(self, block: type[Block]) -> None:
        """Prefect's own version downloads the logo; offline, check what can be checked."""
        logo = str(block._logo_url)
        assert logo.startswith("https://"), logo
        assert logo.lower().endswith((".png", ".svg", ".jpg", ".jpeg")), logo


def test_block_type_names_and_slugs() -> None:
    assert ZoomOAuthCredentials.get_block_type_name() == "Zoom OAuth Credentials"
    assert (
        ZoomServerToServerCredentials.get_block_type_name() == "Zoom Server-to-Server Credentials"
    )
    assert ZoomOAuthCredentials.get_block_type_slug() == "zoom-oauth-credentials"


# ---- secrets ------------------------------------------------------------------------------------
def test_reprs_hide_every_secret() -> None:
    block = ZoomOAuthCredentials(
        client_id="cid",
        client_secret=SecretStr("CLIENT-SECRET"),
        access_token=SecretStr("ACCESS-TOKEN"),
        refresh_token=SecretStr("REFRESH-TOKEN"),
    )
    for text in (repr(block), str(block), block.model_dump_json(), repr(block.get_client())):
        for secret in ("CLIENT-SECRET", "ACCESS-TOKEN", "REFRESH-TOKEN"):
            assert secret not in text


def test_exactly_one_client_secret_source() -> None:
    with pytest.raises(ValidationError, match="client_secret"):
        ZoomServerToServerCredentials(account_id="a", client_id="c")
    with pytest.raises(ValidationError, match="Keep only one"):
        ZoomServerToServerCredentials(
            account_id="a", client_id="c", client_secret="s", client_secret_block_name="n"
        )


def test_reconnect_command_names_the_block() -> None:
    block = ZoomOAuthCredentials(client_id="c", client_secret="s")
    assert block.reconnect_command() == "prefect-zoom connect oauth --block NAME"
    block._block_document_name = "team zoom"
    assert block.reconnect_command() == "prefect-zoom connect oauth --block 'team zoom'"
    assert block.connect_command("other") == "prefect-zoom connect oauth --block other"


def test_connect_command_of_a_server_to_server_block_repeats_its_settings_not_its_secret() -> None:
    block = ZoomServerToServerCredentials(account_id="acct 1", client_id="cid", client_secret="s3")
    command = block.connect_command("team zoom")
    assert command == (
        "prefect-zoom connect s2s --block 'team zoom' --account-id 'acct 1' --client-id cid "
        "--overwrite  (with ZOOM_CLIENT_SECRET set)"
    )
    assert "s3" not in command
    assert block.reconnect_command() is None  # its token errors need no reconnect hint


def test_store_tokens_keeps_the_rotated_refresh_token_out_of_the_repr() -> None:
    """The one way to put tokens into a block (used by the CLI and the token store)."""
    from prefect_zoom.auth.tokens import TokenSet

    block = ZoomOAuthCredentials(client_id="c", client_secret="s", refresh_token="old-refresh")
    tokens = TokenSet(
        access_token="new-access",
        refresh_token="new-refresh",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        scopes=["meeting:read"],
    )
    block.store_tokens(tokens)
    assert block.access_token is not None and block.refresh_token is not None
    assert block.access_token.get_secret_value() == "new-access"
    assert block.refresh_token.get_secret_value() == "new-refresh"
    assert block.scopes == ["meeting:read"]
    assert "new-access" not in repr(block) and "new-refresh" not in repr(block)
    block.store_tokens(tokens.model_copy(update={"refresh_token": None}))
    assert block.refresh_token.get_secret_value() == "new-refresh"  # kept: Zoom sent none


@pytest.mark.parametrize("block_type", [ZoomOAuthCredentials, ZoomServerToServerCredentials])
def test_the_block_page_shows_how_to_load_that_block(block_type: type[Any]) -> None:
    example = block_type.get_code_example()
    assert f"from prefect_zoom import {block_type.__name__}\n" in example
    assert f'= {block_type.__name__}.load("BLOCK_NAME")' in example


def test_client_secret_from_a_secret_block(zoom_emulator: ZoomEmulator) -> None:
    secret_name = unique("zoom-s2s-secret")
    Secret(value=zoom_emulator.config.s2s_client_secret).save(secret_name)
    block = s2s_credentials(zoom_emulator).model_copy(
        update={"client_secret": None, "client_secret_block_name": secret_name}
    )
    name = unique("s2s-by-secret-block")
    block.save(name)
    loaded = load_block(ZoomServerToServerCredentials, name)
    assert loaded.client_secret is None
    assert loaded.read_client_secret() == zoom_emulator.config.s2s_client_secret
    assert zoom_emulator.config.s2s_client_secret not in repr(loaded)
    with loaded.get_client() as zoom:
        assert zoom.get_json("/users/me")["email"] == zoom_emulator.config.user_email


# ---- OAuth connection: refresh, rotation, saving ------------------------------------------------
def test_expiry_refreshes_and_saves_the_rotated_refresh_token(zoom_emulator: ZoomEmulator) -> None:
    name = unique("oauth")
    block = oauth_credentials(zoom_emulator)
    block.save(name)
    loaded = load_block(ZoomOAuthCredentials, name)
    assert loaded.refresh_token is not None
    old_refresh = loaded.refresh_token.get_secret_value()
    with loaded.get_client() as zoom:
        assert zoom.get_json("/users/me", operation="get_user")["email"]
        expire_everywhere(zoom_emulator)
        assert zoom.get_json("/users/me", operation="get_user")["email"]
    assert zoom_emulator.state.counters["grant refresh_token"] == 1

    saved = load_block(ZoomOAuthCredentials, name)
    assert saved.refresh_token is not None
    new_refresh = saved.refresh_token.get_secret_value()
    assert new_refresh != old_refresh
    assert zoom_emulator.state.refresh_tokens[new_refresh].alive
    # the old refresh token is dead at Zoom
    answer = httpx.post(
        f"{zoom_emulator.oauth_url}/token",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=(zoom_emulator.config.oauth_client_id, zoom_emulator.config.oauth_client_secret),
    )
    assert answer.status_code == 400
    assert answer.json() == {"reason": "Invalid Token!", "error": "invalid_grant"}


async def test_async_client_refreshes_and_saves(zoom_emulator: ZoomEmulator) -> None:
    name = unique("oauth-async")
    await oauth_credentials(zoom_emulator).asave(name)
    loaded = await aload_block(ZoomOAuthCredentials, name)
    async with loaded.get_async_client() as zoom:
        expire_everywhere(zoom_emulator)
        me = await zoom.get_json("/users/me", operation="get_user")
    assert me["email"] == zoom_emulator.config.user_email
    saved = await aload_block(ZoomOAuthCredentials, name)
    assert saved.access_token is not None and loaded.access_token is not None
    assert saved.access_token.get_secret_value() == loaded.access_token.get_secret_value()
    assert zoom_emulator.state.counters["grant refresh_token"] == 1


def test_a_second_loader_adopts_instead_of_refreshing(zoom_emulator: ZoomEmulator) -> None:
    name = unique("oauth-adopt")
    oauth_credentials(zoom_emulator).save(name)
    first = load_block(ZoomOAuthCredentials, name)
    second = load_block(ZoomOAuthCredentials, name)  # another process, say
    with first.get_client() as a, second.get_client() as b:
        expire_everywhere(zoom_emulator)
        a.get_json("/users/me")  # refreshes: b's token dies at Zoom (one live token per user)
        b.get_json("/users/me")  # 124 -> reload -> adopt a's token
    assert zoom_emulator.state.counters["grant refresh_token"] == 1


def test_revoked_connection_asks_to_authorize_again(zoom_emulator: ZoomEmulator) -> None:
    name = unique("oauth-revoked")
    oauth_credentials(zoom_emulator).save(name)
    loaded = load_block(ZoomOAuthCredentials, name)
    assert loaded.access_token is not None
    httpx.post(
        f"{zoom_emulator.oauth_url}/revoke",
        data={"token": loaded.access_token.get_secret_value()},
        auth=(zoom_emulator.config.oauth_client_id, zoom_emulator.config.oauth_client_secret),
    ).raise_for_status()
    started = time.monotonic()
    with loaded.get_client() as zoom, pytest.raises(ZoomAuthorizeAgainError) as caught:
        zoom.get_json("/users/me")
    assert time.monotonic() - started < 10
    assert f"prefect-zoom connect oauth --block {name}" in str(caught.value)
    assert zoom_emulator.state.counters["grant refresh_token"] == 0


# ---- Server-to-Server: the token is shared through the block -------------------------------------
def test_s2s_token_is_cached_in_the_saved_block(zoom_emulator: ZoomEmulator) -> None:
    name = unique("s2s")
    s2s_credentials(zoom_emulator).save(name)
    with load_block(ZoomServerToServerCredentials, name).get_client() as zoom:
        zoom.get_json("/users/me")
    with load_block(ZoomServerToServerCredentials, name).get_client() as zoom:  # a second process
        zoom.get_json("/users/me")
    assert zoom_emulator.state.counters["grant account_credentials"] == 1
    saved = load_block(ZoomServerToServerCredentials, name)
    assert saved.access_token is not None and saved.expires_at is not None
    assert saved.scopes  # granted scopes are recorded


def test_get_client_shares_one_token_manager() -> None:
    block = ZoomServerToServerCredentials(account_id="a", client_id="c", client_secret="s")
    assert block.get_client().tokens is block.get_async_client().tokens


def test_a_name_loads_as_whichever_block_type_it_is(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect_zoom.tasks._common import load_credentials

    name = f"kind-{uuid.uuid4().hex[:8]}"
    s2s_credentials(zoom_emulator).save(name)
    tried: list[str] = []
    real_load = ZoomOAuthCredentials.load.__func__  # type: ignore[attr-defined]

    def counting_load(cls: type[Block], *args: object, **kwargs: object) -> object:
        tried.append(cls.__name__)
        return real_load(cls, *args, **kwargs)

    monkeypatch.setattr(ZoomOAuthCredentials, "load", classmethod(counting_load))
    assert isinstance(load_credentials(name), ZoomServerToServerCredentials)
    assert isinstance(load_credentials(name), ZoomServerToServerCredentials)
    assert tried == ["ZoomOAuthCredentials"]  # only the first call tried the other type
    oauth_credentials(zoom_emulator).save(f"{name}-oauth")
    assert isinstance(load_credentials(f"{name}-oauth"), ZoomOAuthCredentials)


def test_a_name_loads_as_a_block_in_an_async_flow_too(zoom_emulator: ZoomEmulator) -> None:
    # In an async flow's body Prefect's Block.load hands back a coroutine unless told otherwise.
    from prefect import flow

    from prefect_zoom.tasks._common import load_credentials

    name = f"in-async-{uuid.uuid4().hex[:8]}"
    oauth_credentials(zoom_emulator).save(name)

    @flow
    async def body() -> str:
        return type(load_credentials(name)).__name__

    assert asyncio.run(body()) == "ZoomOAuthCredentials"


def _renew_twice_and_count_saves(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> tuple[list[str], list[str]]:
    """Renew a saved connection's tokens twice; the full saves and the single-request saves."""
    from conftest import record_calls
    from prefect.client.orchestration import SyncPrefectClient

    from prefect_zoom.blocks import _store

    name = f"patch-{uuid.uuid4().hex[:8]}"
    s2s_credentials(zoom_emulator).save(name)
    manager = load_block(ZoomServerToServerCredentials, name).token_manager()
    manager.get_token()
    monkeypatch.setattr(_store, "_registered", set())  # as in a new process
    # both shells save with Prefect's sync client (the async one from a worker thread)
    full = record_calls(monkeypatch, SyncPrefectClient, "read_block_type_by_slug", lambda c: name)
    patched = record_calls(monkeypatch, SyncPrefectClient, "update_block_document", lambda c: name)
    for _ in range(2):
        if asynchronous:
            asyncio.run(manager.aon_invalid_token(manager.get_token()))
        else:
            manager.on_invalid_token(manager.get_token())
        assert load_block(ZoomServerToServerCredentials, name).access_token == SecretStr(
            manager.get_token()
        )
    return full, patched


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_renewals_build_no_tls_context_per_prefect_client(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    """Prefect's client reads a CA bundle into a new TLS context each time it is made (20 ms,
    more than the request it is made for); the token path's clients (lock, heartbeat, reload,
    save, release) share one, so renewals after the process's first build none."""
    name = unique("tls-once")
    s2s_credentials(zoom_emulator).save(name)
    manager = load_block(ZoomServerToServerCredentials, name).token_manager()

    def renew() -> None:
        if asynchronous:
            asyncio.run(manager.aon_invalid_token(manager.get_token()))
        else:
            manager.on_invalid_token(manager.get_token())

    renew()  # the process's first: its contexts are built
    built: list[str] = []
    real = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(str(kwargs.get("cafile")))
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    tokens = {manager.get_token()}
    for _ in range(3):
        renew()
        tokens.add(manager.get_token())
    assert built == []
    assert len(tokens) == 4  # each one a renewal, locked, reloaded and saved
    assert load_block(ZoomServerToServerCredentials, name).access_token == SecretStr(
        manager.get_token()
    )


def test_the_shared_prefect_api_context_follows_prefects_tls_settings() -> None:
    from prefect.settings import PREFECT_API_TLS_INSECURE_SKIP_VERIFY, temporary_settings

    from prefect_zoom._tls import prefect_api_context

    assert prefect_api_context().verify_mode == ssl.CERT_REQUIRED
    with temporary_settings({PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True}):
        insecure = prefect_api_context()
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname
    assert prefect_api_context().verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_token_save_after_the_first_is_one_request(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    full, patched = _renew_twice_and_count_saves(zoom_emulator, monkeypatch, asynchronous)
    # the first save registers the type and schema (Prefect's own save, which then patches);
    # the second is the patch alone
    assert len(full) == 1
    assert len(patched) == 2
