"""A connection is never lost: renewed tokens survive a failed or cancelled save, and the lock of
a dead holder frees itself within seconds.

Real parts: the emulator rotates refresh tokens like Zoom, blocks live in the session's Prefect
API, the recovery store is a real file. Only the block save is made to fail or to hang (the
Prefect client's update of the block document, which every save of new tokens ends with).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from helpers.connections import aload_block, load_block, oauth_credentials
from prefect.client.orchestration import SyncPrefectClient
from pydantic import SecretStr

from prefect_zoom import ZoomAuthorizeAgainError, ZoomOAuthCredentials
from prefect_zoom.auth import locks, recovery, renewal
from prefect_zoom.auth.tokens import TokenSet, utcnow
from zoom_emulator import ZoomEmulator


def saved_expired_connection(emulator: ZoomEmulator) -> str:
    """A saved OAuth block whose access token has run out: the next call renews it."""
    name = f"recover-{uuid.uuid4().hex[:8]}"
    block = oauth_credentials(emulator)
    block.expires_at = utcnow() - timedelta(seconds=1)
    block.save(name, _sync=True)  # type: ignore[call-arg]
    return name


def stored_refresh_token(name: str) -> str:
    refresh = load_block(ZoomOAuthCredentials, name).refresh_token
    assert refresh is not None
    return refresh.get_secret_value()


def assert_connection_works(emulator: ZoomEmulator, name: str) -> None:
    """A fresh load of the block (as a new process would) gets through to Zoom."""
    with load_block(ZoomOAuthCredentials, name).get_client() as zoom:
        assert (
            zoom.get_json("/users/me", operation="get_user")["email"] == emulator.config.user_email
        )
    assert emulator.state.counters["grant failed"] == 0


@pytest.fixture
def quick_saves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(renewal, "SAVE_PATIENCE_SECONDS", 1.0)


def test_a_failed_save_after_a_renewal_loses_nothing(
    zoom_emulator: ZoomEmulator,
    monkeypatch: pytest.MonkeyPatch,
    quick_saves: None,
    fsynced: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = saved_expired_connection(zoom_emulator)
    before = stored_refresh_token(name)
    block = load_block(ZoomOAuthCredentials, name)
    saves: list[str] = []

    def prefect_api_down(self: Any, *args: Any, **kwargs: Any) -> None:
        saves.append(time.strftime("%X"))
        raise ConnectionError("the Prefect API is down")

    with monkeypatch.context() as patch:
        patch.setattr(SyncPrefectClient, "update_block_document", prefect_api_down)
        with (
            caplog.at_level(logging.DEBUG),
            pytest.raises(ConnectionError),
            block.get_client() as zoom,
        ):
            zoom.get_json("/users/me", operation="get_user")
    assert len(saves) >= 3  # retried with backoff
    assert zoom_emulator.state.counters["grant refresh_token"] == 1
    assert stored_refresh_token(name) == before  # the block still holds the dead token ...

    # ... but the new one reached the recovery store first: 0600, fsynced, never logged
    key = block.token_manager()._store.recovery_key
    assert key is not None
    path = recovery.recovery_file(key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in fsynced
    kept = json.loads(path.read_text())
    rotated = block.token_manager().tokens
    assert rotated is not None and rotated.refresh_token is not None
    assert kept["refresh_token"] == rotated.refresh_token.get_secret_value() != before
    assert kept["refresh_token"] not in caplog.text and kept["access_token"] not in caplog.text
    assert kept["abandoned"] is True  # the save was given up: no process adopts them unsaved

    # a new process reconciles the store with the block, saves, and calls Zoom: no new grant
    assert_connection_works(zoom_emulator, name)
    assert zoom_emulator.state.counters["grant refresh_token"] == 1
    assert stored_refresh_token(name) == kept["refresh_token"]
    assert recovery.recovered(key) is None  # the block has it now: nothing owed ...
    assert json.loads(path.read_text())["saved"] is True  # ... and the file says so


async def test_a_task_cancelled_during_the_save_loses_nothing(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = saved_expired_connection(zoom_emulator)
    before = stored_refresh_token(name)
    block = await aload_block(ZoomOAuthCredentials, name)
    real_update = SyncPrefectClient.update_block_document
    saving = threading.Event()

    def slow_update(self: Any, *args: Any, **kwargs: Any) -> Any:
        saving.set()
        time.sleep(1.0)  # a slow Prefect API: the cancel lands in here
        return real_update(self, *args, **kwargs)

    # an async caller's save runs in a worker thread (see the next test)
    monkeypatch.setattr(SyncPrefectClient, "update_block_document", slow_update)

    async def call() -> None:
        async with block.get_async_client() as zoom:
            await zoom.get_json("/users/me", operation="get_user")

    task = asyncio.create_task(call())
    assert await asyncio.to_thread(saving.wait, 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline = time.monotonic() + 60
    while stored_refresh_token(name) == before:  # the shielded save completes on its own
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    monkeypatch.undo()
    assert zoom_emulator.state.counters["grant refresh_token"] == 1
    assert_connection_works(zoom_emulator, name)
    assert zoom_emulator.state.counters["grant refresh_token"] == 1


async def test_an_async_renewal_does_its_block_and_file_io_off_the_event_loop(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prefect's client, pydantic and fsync are blocking work: an async caller's renewal does
    them in worker threads, so while its save waits on the Prefect API the loop's other tasks
    call Zoom with the new token (in the recovery store already)."""
    name = saved_expired_connection(zoom_emulator)
    before = stored_refresh_token(name)
    block = await aload_block(ZoomOAuthCredentials, name)
    loop_thread = threading.get_ident()
    blocking_calls: list[tuple[str, bool]] = []  # (what, on the loop's thread)
    real_read = SyncPrefectClient.read_block_document_by_name
    real_update = SyncPrefectClient.update_block_document
    real_fsync = os.fsync
    saving, answer = threading.Event(), threading.Event()

    def read(self: Any, *args: Any, **kwargs: Any) -> Any:
        blocking_calls.append(("read", threading.get_ident() == loop_thread))
        return real_read(self, *args, **kwargs)

    def held_update(self: Any, *args: Any, **kwargs: Any) -> Any:
        blocking_calls.append(("save", threading.get_ident() == loop_thread))
        saving.set()
        answer.wait(60)  # a Prefect API that answers when the test says so
        return real_update(self, *args, **kwargs)

    def fsync(fd: int) -> None:
        blocking_calls.append(("fsync", threading.get_ident() == loop_thread))
        real_fsync(fd)

    monkeypatch.setattr(SyncPrefectClient, "read_block_document_by_name", read)
    monkeypatch.setattr(SyncPrefectClient, "update_block_document", held_update)
    monkeypatch.setattr(os, "fsync", fsync)
    async with block.get_async_client() as zoom:
        renewing = asyncio.create_task(zoom.get_json("/users/me", operation="get_user"))
        assert await asyncio.to_thread(saving.wait, 60)
        others = await asyncio.gather(
            *(zoom.get_json("/users/me", operation="get_user") for _ in range(5))
        )
        assert not renewing.done()  # its save still hangs: the others were served meanwhile
        answer.set()
        await renewing
    emails = {me["email"] for me in others}
    assert emails == {zoom_emulator.config.user_email}
    assert {what for what, _ in blocking_calls} == {"read", "save", "fsync"}
    assert not any(on_loop for _, on_loop in blocking_calls), blocking_calls
    assert zoom_emulator.state.counters["grant refresh_token"] == 1
    assert stored_refresh_token(name) != before


def test_a_prefect_task_timeout_during_the_save_loses_nothing(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow, task

    name = saved_expired_connection(zoom_emulator)
    before = stored_refresh_token(name)
    real_update = SyncPrefectClient.update_block_document

    def slow_update(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(2.0)  # a slow Prefect API: the task's timeout fires in here
        return real_update(self, *args, **kwargs)

    monkeypatch.setattr(SyncPrefectClient, "update_block_document", slow_update)

    @task(timeout_seconds=0.5, retries=0)
    def call_zoom(block_name: str) -> None:
        block = load_block(ZoomOAuthCredentials, block_name)
        with block.get_client() as zoom:
            zoom.get_json("/users/me", operation="get_user")

    @flow
    def timed_out(block_name: str) -> None:
        call_zoom(block_name)

    state = timed_out(name, return_state=True)
    assert state.is_failed(), state
    deadline = time.monotonic() + 60
    while stored_refresh_token(name) == before:  # the shielded save completes on its own
        assert time.monotonic() < deadline
        time.sleep(0.1)
    monkeypatch.undo()
    assert_connection_works(zoom_emulator, name)
    assert zoom_emulator.state.counters["grant refresh_token"] == 1


# ---- the lock of a dead holder -----------------------------------------------------------------
@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waits shorter than Prefect's own lease of a slot (60 s at least), so only a freed lock
    can be taken in time."""
    monkeypatch.setattr(locks, "ACQUIRE_TIMEOUT_SECONDS", 45.0)


def test_a_silent_holder_is_freed_within_seconds(short_waits: None) -> None:
    key = f"dead-holder-{uuid.uuid4().hex[:6]}"
    url = locks.prefect_api_url()
    assert url
    slot = locks._take_prefect_slot(key, url)
    slot._stop.set()  # the holder dies: no more heartbeats, no release
    slot._keeper.join(10)
    # freed within the bounded wait (45 s here), not after Prefect's own lease of the slot
    with locks.connection_lock(key) as lease:
        assert lease.remaining() > 0
    # the dead holder may have renewed at Zoom without saving: a refusal may wait for its save
    assert locks.api_trouble_within(60)


def test_a_slot_taken_without_a_heartbeat_is_recreated(short_waits: None) -> None:
    """A holder that died between taking the slot and writing its record (or a Prefect server
    restarted with its leases lost) leaves a slot that no lease frees: the limit is recreated."""
    from prefect.client.orchestration import get_client

    key = f"orphan-slot-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        locks.ensure_single_slot_limit(client, locks.limit_name(key))
        client.increment_concurrency_slots_with_lease(
            names=[locks.limit_name(key)], slots=1, mode="concurrency", lease_duration=600
        )
    with locks.connection_lock(key):  # within the bounded wait, though no lease ever ends
        pass
    with locks.connection_lock(key):  # and the new limit works as a lock again
        pass


def test_a_live_holder_keeps_the_lock_past_its_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "ACQUIRE_TIMEOUT_SECONDS", 2 * locks.LEASE_SECONDS + 3)
    key = f"live-holder-{uuid.uuid4().hex[:6]}"
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with locks.connection_lock(key):
            held.set()
            release.wait(120)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(60)

        # another process (its own thread-lock layer) waits, and gives up with the cause
        def other_process() -> None:
            locks._take_process_lock(key)

        with pytest.raises(locks.ConnectionLockTimeout) as caught:
            other_process()
        assert key in str(caught.value) and "holds it" in str(caught.value)
    finally:
        release.set()
        thread.join(60)


def test_a_holder_counts_its_lease_from_when_its_heartbeat_was_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A waiter may see a heartbeat the moment the server stores it and count its silence from
    # then; if the holder counted from the (late) answer, it would think its lease longer than
    # the waiter does, and could start a renewal after the waiter freed its lock.
    late = 1.0
    real_write = locks._write_record

    def stored_then_answered_late(client: Any, key: str, value: dict[str, Any]) -> None:
        real_write(client, key, value)
        time.sleep(late)  # the answer's latency, not a wait for anything

    monkeypatch.setattr(locks, "_write_record", stored_then_answered_late)
    with locks.connection_lock(f"late-answers-{uuid.uuid4().hex[:6]}") as lease:
        assert lease.remaining() <= locks.LEASE_SECONDS - late


def test_an_unreachable_prefect_api_is_waited_for_and_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setattr(locks, "ACQUIRE_TIMEOUT_SECONDS", 1.0)
    down = "http://127.0.0.1:9/api"
    with (
        temporary_settings({PREFECT_API_URL: down}),
        pytest.raises(locks.ConnectionLockTimeout) as caught,
        locks.connection_lock("api-down"),
    ):
        pass
    assert down in str(caught.value) and "PREFECT_API_URL" in str(caught.value)
    assert not locks.lock_file("api-down").exists()  # no switch to a lock others cannot see


def test_polling_never_overflows() -> None:
    for attempt in (0, 1, 10, 1100, 10**6):
        assert locks.POLL_MIN_SECONDS <= locks._poll_delay(attempt) <= locks.POLL_MAX_SECONDS


def test_holder_watch_releases_then_recycles_a_silent_holder() -> None:
    watch = locks.HolderWatch()
    lease = locks.LEASE_SECONDS
    record = {"lease": "x", "beat": 1}
    assert watch.see(record, 0.0) == "wait"
    assert watch.see(dict(record), lease - 0.1) == "wait"
    assert watch.see(record, lease) == "release"
    watch.limit_id = "limit-1"
    assert watch.see(record, lease + 1) == "wait"
    assert watch.see(record, 2 * lease) == "recycle"
    assert watch.see({"lease": "x", "beat": 2}, 2 * lease + 1) == "wait"  # alive again


def test_recovery_files_of_two_prefect_apis_never_mix() -> None:
    one = recovery.recovery_file("http://a/api zoom-oauth-credentials zoom")
    two = recovery.recovery_file("http://b/api zoom-oauth-credentials zoom")
    assert one != two and one.parent == two.parent


def test_heartbeat_records_have_valid_distinct_names() -> None:
    from prefect.client.schemas.actions import VariableCreate

    upper, lower = locks.record_name("unsaved-x-emuS2SClientId"), locks.record_name("zoom.Conn")
    for name in (upper, lower):
        VariableCreate(name=name, value={})  # a valid Prefect variable name
    assert locks.record_name("Zoom") != locks.record_name("zoom")


def renewed_on_another_machine(
    emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch, *, grace: float | None = None
) -> tuple[str, ZoomOAuthCredentials]:
    """A saved connection that machine A renews while the Prefect API is away: the rotated
    tokens live only in its memory and its own recovery store, which no other machine sees (so
    it is removed here). ``grace``: how long a refused refresh then waits for A's save."""
    if grace is not None:
        monkeypatch.setattr(renewal, "REFUSED_GRACE_SECONDS", grace)
    name = saved_expired_connection(emulator)
    machine_a = load_block(ZoomOAuthCredentials, name)

    def prefect_api_down(self: Any, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the Prefect API is down")

    with monkeypatch.context() as patch:
        patch.setattr(SyncPrefectClient, "update_block_document", prefect_api_down)
        with pytest.raises(ConnectionError), machine_a.get_client() as zoom:
            zoom.get_json("/users/me", operation="get_user")
    key = machine_a.token_manager()._store.recovery_key
    assert key is not None
    recovery.recovery_file(key).unlink()
    assert emulator.state.counters["grant refresh_token"] == 1
    return name, machine_a


def test_a_stale_machine_waits_for_the_tokens_another_machine_still_saves(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch, quick_saves: None
) -> None:
    name, machine_a = renewed_on_another_machine(zoom_emulator, monkeypatch)

    # machine B loads the stale block: Zoom refuses its refresh token, and B waits ...
    outcome: dict[str, Any] = {}

    def machine_b() -> None:
        try:
            with load_block(ZoomOAuthCredentials, name).get_client() as zoom:
                outcome["me"] = zoom.get_json("/users/me", operation="get_user")
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=machine_b)
    thread.start()
    deadline = time.monotonic() + 60
    while zoom_emulator.state.counters["grant failed"] == 0 and thread.is_alive():
        assert time.monotonic() < deadline, "machine B never tried its refresh"
        time.sleep(0.05)
    assert thread.is_alive(), outcome  # refused, but not failed: it waits for a newer token

    # ... until machine A, its Prefect API back, saves what it renewed: B adopts it
    machine_a.token_manager().get_token()
    thread.join(60)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome
    assert outcome["me"]["email"] == zoom_emulator.config.user_email
    assert zoom_emulator.state.counters["grant failed"] == 1  # B refreshed with the old one once
    rotated = machine_a.token_manager().tokens
    assert rotated is not None and rotated.refresh_token is not None
    assert stored_refresh_token(name) == rotated.refresh_token.get_secret_value()


def test_a_refused_refresh_ends_with_authorize_again_when_nothing_newer_comes(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch, quick_saves: None
) -> None:
    name, _ = renewed_on_another_machine(zoom_emulator, monkeypatch, grace=1.0)
    with (
        pytest.raises(ZoomAuthorizeAgainError),
        load_block(ZoomOAuthCredentials, name).get_client() as zoom,
    ):
        zoom.get_json("/users/me", operation="get_user")
    assert zoom_emulator.state.counters["grant failed"] == 1  # never refreshed twice with it


def test_a_refused_refresh_fails_at_once_when_the_prefect_api_never_failed(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch, quick_saves: None
) -> None:
    # a revoked app looks the same to Zoom: without an outage, nothing newer is coming
    name, _ = renewed_on_another_machine(zoom_emulator, monkeypatch, grace=600.0)
    assert locks.api_trouble_within(renewal.OUTAGE_MEMORY_SECONDS)  # A's failed save counts
    locks.forget_api_trouble()  # ... but B is another machine: it saw the API answer all along

    outcome: dict[str, BaseException] = {}

    def machine_b() -> None:
        try:
            with load_block(ZoomOAuthCredentials, name).get_client() as zoom:
                zoom.get_json("/users/me", operation="get_user")
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=machine_b, daemon=True)
    thread.start()
    thread.join(120)  # far below the 600 s grace it must not wait
    assert not thread.is_alive(), "a refusal without an outage waited for newer tokens"
    assert isinstance(outcome.get("error"), ZoomAuthorizeAgainError), outcome
    assert zoom_emulator.state.counters["grant failed"] == 1


def test_a_token_another_process_renewed_is_adopted_from_the_recovery_store(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes of one machine (two loads of the block, one recovery store): when one
    renews, Zoom rejects the other's token, which takes the new one from the store without
    reading the block from the Prefect API or renewing again."""
    name = f"adopt-{uuid.uuid4().hex[:8]}"
    oauth_credentials(zoom_emulator).save(name, _sync=True)  # type: ignore[call-arg]
    renewer, other = (load_block(ZoomOAuthCredentials, name) for _ in range(2))
    with other.get_client() as zoom:
        zoom.get_json("/users/me", operation="get_user")
    old = other.token_manager().get_token()
    renewer.token_manager().on_invalid_token(old)  # renews: Zoom invalidates `old`
    assert zoom_emulator.state.counters["grant refresh_token"] == 1

    reads: list[str] = []
    original = SyncPrefectClient.read_block_document_by_name

    def counted(self: SyncPrefectClient, *args: Any, **kwargs: Any) -> Any:
        reads.append(str(args or kwargs))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SyncPrefectClient, "read_block_document_by_name", counted)
    with other.get_client() as zoom:
        assert zoom.get_json("/users/me", operation="get_user")["email"]
    assert other.token_manager().get_token() == renewer.token_manager().get_token() != old
    assert reads == []  # no Prefect API read on the token path
    assert zoom_emulator.state.counters["grant refresh_token"] == 1


def test_a_wait_for_the_lock_ends_when_the_holder_records_new_tokens(
    zoom_emulator: ZoomEmulator,
) -> None:
    """A process queued behind the renewing one adopts the tokens the renewer recorded, without
    taking the lock after it (the recovery store is watched while waiting)."""
    name = saved_expired_connection(zoom_emulator)
    holder, waiter = (load_block(ZoomOAuthCredentials, name) for _ in range(2))
    key = holder.token_manager()._store.lock_key
    adopted: dict[str, Any] = {}
    queued: list[str] = []
    original = locks._thread_lock

    def counted(key: str) -> threading.Lock:
        queued.append(threading.current_thread().name)
        return original(key)

    with locks.connection_lock(key):  # the holder's renewal is under way: the waiter queues
        thread = threading.Thread(
            target=lambda: adopted.update(token=waiter.token_manager().get_token()),
            name="waiter",
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(locks, "_thread_lock", counted)
            thread.start()
            deadline = time.monotonic() + 60
            while not queued:  # the waiter reached the lock
                assert time.monotonic() < deadline
                time.sleep(0.05)
            manager = holder.token_manager()
            fresh = manager._renew(manager.tokens)
            recovery.record(manager._store.recovery_key or "", fresh)
            thread.join(60)
    assert not thread.is_alive()
    assert adopted["token"] == fresh.access_token.get_secret_value()
    assert zoom_emulator.state.counters["grant refresh_token"] == 1  # the waiter renewed nothing


def test_the_recovery_store_keeps_the_newest_tokens_marked_saved() -> None:
    key = f"http://prefect.test/api zoom-oauth-credentials keep-{uuid.uuid4().hex[:8]}"
    older = TokenSet(
        access_token=SecretStr("at-older"),
        refresh_token=SecretStr("rt-older"),
        issued_at=utcnow() - timedelta(seconds=10),
        expires_at=utcnow() + timedelta(hours=1),
    )
    newer = older.model_copy(update={"access_token": SecretStr("at-newer"), "issued_at": utcnow()})
    recovery.record(key, newer)
    assert recovery.recovered(key) == newer  # owed to the block
    recovery.forget(key, older)  # an older save never marks newer tokens saved
    assert recovery.recovered(key) == newer
    recovery.forget(key, newer)
    assert recovery.recovered(key) is None  # nothing owed ...
    assert recovery.latest(key) == newer  # ... and still there for the other processes


def test_tokens_whose_save_was_given_up_are_owed_and_not_adopted() -> None:
    key = f"http://prefect.test/api zoom-oauth-credentials abandon-{uuid.uuid4().hex[:8]}"
    renewed = TokenSet(
        access_token=SecretStr("at-renewed"),
        refresh_token=SecretStr("rt-renewed"),
        issued_at=utcnow(),
        expires_at=utcnow() + timedelta(hours=1),
    )
    other = renewed.model_copy(update={"issued_at": utcnow() - timedelta(seconds=5)})
    recovery.record(key, renewed)
    recovery.abandon(key, other)  # another token set's renewer gave up: not these
    assert recovery.latest(key) == renewed
    recovery.abandon(key, renewed)
    assert recovery.latest(key) is None  # no process takes them without the lock ...
    assert recovery.recovered(key) == renewed  # ... whose holder saves them
    recovery.forget(key, renewed)
    assert recovery.latest(key) == renewed and recovery.recovered(key) is None
    recovery.abandon(key, renewed)  # saved meanwhile: nothing to give up
    assert recovery.latest(key) == renewed
