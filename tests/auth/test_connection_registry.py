"""One connection per block name and process (``prefect_zoom.connections``): loaded once for many
callers, revalidated after Zoom rejects a token and after an interval, one pool per connection."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers.connections import load_block, oauth_credentials, s2s_credentials
from prefect import flow

from prefect_zoom import ZoomOAuthCredentials, ZoomServerToServerCredentials, connections
from prefect_zoom.blocks._store import BlockTokenStore
from prefect_zoom.connections import (
    CONNECTIONS,
    REVALIDATE_SECONDS,
    ConnectionRegistry,
    ZoomCredentials,
    load_saved,
)
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.tasks import get_user
from prefect_zoom.tasks._common import client_for
from zoom_emulator import ZoomEmulator

GRANTS = "grant account_credentials"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting(loads: list[str]) -> Callable[[str], ZoomCredentials]:
    """``load_saved`` that notes each name it loads."""

    def load(name: str) -> ZoomCredentials:
        loads.append(name)
        return load_saved(name)

    return load


def saved_s2s(emulator: ZoomEmulator) -> str:
    name = f"registry-{uuid.uuid4().hex[:8]}"
    s2s_credentials(emulator).save(name)
    return name


def me(registry: ConnectionRegistry, name: str) -> str:
    with registry.get(name).client() as zoom:
        return str(zoom.get_json("/users/me", operation="get_user")["id"])


def rotate_secret(emulator: ZoomEmulator, name: str) -> None:
    """Zoom's admin rotates the app's secret (its tokens die) and the block is edited to match,
    as in the Prefect UI."""
    app = emulator.state.apps[emulator.config.s2s_client_id]
    app.client_secret = f"rotated-{uuid.uuid4().hex[:8]}"
    for token in emulator.state.access_tokens.values():
        token.revoked = True
    block = load_block(ZoomServerToServerCredentials, name)
    block.client_secret = app.client_secret  # type: ignore[assignment]
    block.save(name, overwrite=True)


def test_concurrent_cold_callers_load_once_and_renew_once(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, loads = saved_s2s(zoom_emulator), list[str]()
    registry = ConnectionRegistry(load=counting(loads))
    start = threading.Barrier(30)
    token_reads: list[str] = []
    read_tokens = BlockTokenStore.load_tokens

    def counted_read(store: BlockTokenStore) -> object:
        token_reads.append(name)
        return read_tokens(store)

    monkeypatch.setattr(BlockTokenStore, "load_tokens", counted_read)

    def caller(_: int) -> str:
        start.wait()  # all 30 ask for the connection at once
        return me(registry, name)

    with ThreadPoolExecutor(30) as pool:
        ids = list(pool.map(caller, range(30)))
    assert len(ids) == 30
    assert loads == [name]
    assert zoom_emulator.state.counters[GRANTS] == 1
    # the renewal reads the block under the lock only: the registry had just loaded it
    assert token_reads == [name]


def test_tasks_by_name_share_one_connection(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, loads = saved_s2s(zoom_emulator), list[str]()
    monkeypatch.setattr(CONNECTIONS, "load", counting(loads))

    @flow
    def twenty_users() -> list[str]:
        futures = [get_user.submit(name) for _ in range(20)]
        return [future.result().id for future in futures]

    assert len(set(twenty_users())) == 1
    assert loads == [name]
    assert zoom_emulator.state.counters[GRANTS] == 1
    with client_for(name) as first, client_for(name) as second:
        assert first._http is second._http  # one pool


def test_an_edit_applies_when_zoom_rejects_the_token(zoom_emulator: ZoomEmulator) -> None:
    name, loads = saved_s2s(zoom_emulator), list[str]()
    registry = ConnectionRegistry(load=counting(loads), clock=Clock())
    me(registry, name)
    old = registry.get(name)
    rotate_secret(zoom_emulator, name)

    me(registry, name)  # 401 -> the block is read again -> the new secret renews

    new = registry.get(name)
    assert new is not old and old.successor is new
    assert loads == [name, name]
    assert zoom_emulator.state.counters[GRANTS] == 2
    assert old.pool.is_closed and not new.pool.is_closed


def test_an_edit_applies_after_the_interval(zoom_emulator: ZoomEmulator) -> None:
    name, loads, clock = saved_s2s(zoom_emulator), list[str](), Clock()
    registry = ConnectionRegistry(load=counting(loads), clock=clock)
    me(registry, name)
    first = registry.get(name)

    clock.now += REVALIDATE_SECONDS  # read again: only the tokens changed, the entry stays
    assert registry.get(name) is first and loads == [name, name]

    rotate_secret(zoom_emulator, name)
    clock.now += REVALIDATE_SECONDS / 2
    with registry.get(name).client() as lent:  # not due yet: the old entry, lent out
        assert registry.get(name) is first and len(loads) == 2
        clock.now += REVALIDATE_SECONDS / 2
        edited = registry.get(name)
        assert edited is not first and len(loads) == 3
        app = zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id]
        assert edited.block.read_client_secret() == app.client_secret
        assert not first.pool.is_closed  # still lent
        lent.get_json("/users/me", operation="get_user")  # goes on with the new connection
    assert first.pool.is_closed
    assert zoom_emulator.state.counters[GRANTS] == 2


def test_separate_event_loops_share_the_token_not_the_pool(zoom_emulator: ZoomEmulator) -> None:
    name, loads = saved_s2s(zoom_emulator), list[str]()
    registry = ConnectionRegistry(load=counting(loads))

    async def loop_body() -> tuple[str, int]:
        connection = await registry.aget(name)
        async with connection.async_client() as zoom:
            results = await asyncio.gather(
                *(zoom.get_json("/users/me", operation="get_user") for _ in range(5))
            )
            return results[0]["id"], id(zoom._http)

    first, second = asyncio.run(loop_body()), asyncio.run(loop_body())
    assert first[0] == second[0]
    assert loads == [name]
    assert zoom_emulator.state.counters[GRANTS] == 1


def test_a_block_passed_directly_keeps_its_own_connection(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    monkeypatch.setattr(CONNECTIONS, "load", counting(loads))
    block = s2s_credentials(zoom_emulator)
    with client_for(block) as zoom:
        assert zoom.tokens is block.token_manager()
        zoom.get_json("/users/me", operation="get_user")
    assert loads == []


def test_a_missing_block_is_not_kept(zoom_emulator: ZoomEmulator) -> None:
    from prefect_zoom.exceptions import ZoomInputError

    registry = ConnectionRegistry()
    with pytest.raises(ZoomInputError, match="no Zoom credentials block"):
        registry.get(f"missing-{uuid.uuid4().hex[:8]}")


def test_a_cold_load_asks_for_both_kinds_at_once(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = saved_s2s(zoom_emulator)
    both_asking = threading.Barrier(2, timeout=30)  # broken if one kind waited for the other
    load_as = connections._load_as

    def meeting_first(kind: type[ZoomCredentials], wanted: str) -> ZoomCredentials | None:
        both_asking.wait()
        return load_as(kind, wanted)

    monkeypatch.setattr(connections, "_load_as", meeting_first)
    monkeypatch.delitem(connections._KIND_OF, name, raising=False)
    assert isinstance(load_saved(name), ZoomServerToServerCredentials)
    assert connections._KIND_OF[name] is ZoomServerToServerCredentials


def test_a_name_saved_as_both_kinds_is_the_oauth_connection(zoom_emulator: ZoomEmulator) -> None:
    name = saved_s2s(zoom_emulator)
    oauth_credentials(zoom_emulator).save(name)
    assert isinstance(load_saved(name), ZoomOAuthCredentials)
    assert isinstance(load_saved(name), ZoomOAuthCredentials)  # the kind it was, asked first


def test_a_name_saved_as_both_kinds_is_the_oauth_connection_whatever_the_other(
    zoom_emulator: ZoomEmulator,
) -> None:
    name = saved_s2s(zoom_emulator)
    edit_saved(name, ZoomServerToServerCredentials, api_base_url="http://zoom.example.com")
    with pytest.raises(ZoomInputError, match="api_base_url"):
        load_saved(name)  # a colleague's edit: the saved block is not valid
    oauth_credentials(zoom_emulator).save(name)
    connections._KIND_OF.pop(name, None)  # as a process that has not loaded it yet
    assert isinstance(load_saved(name), ZoomOAuthCredentials)  # both asked, only OAuth read


def edit_saved(name: str, kind: type[ZoomCredentials], **fields: str) -> None:
    """Change fields of a saved block on the Prefect API, past the block's own checks (as an
    edit in the Prefect UI can)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import BlockDocumentUpdate

    with get_client(sync_client=True) as client:
        document = client.read_block_document_by_name(
            name, kind.get_block_type_slug(), include_secrets=True
        )
        data = {**document.data, **fields}
        client.update_block_document(document.id, BlockDocumentUpdate(data=data))


def test_a_forked_child_starts_with_no_connections(zoom_emulator: ZoomEmulator) -> None:
    name = saved_s2s(zoom_emulator)
    registry = ConnectionRegistry()
    parent = registry.get(name)
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool is not its own
        os._exit(0 if registry._entries == {} else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert registry.get(name) is parent  # the parent keeps its own
