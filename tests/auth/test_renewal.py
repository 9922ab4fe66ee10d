"""The renewal rules as a flow with no I/O: driven by hand, request by request.

No store, lock, Prefect API or Zoom is touched here: each test answers the requests the rules
make, so the order of the steps (recovery store before block, save only under the lock) and the
decisions (adopt, renew, wait after a refusal) are checked without timing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from prefect_zoom._sansio import Stepper
from prefect_zoom.auth import locks
from prefect_zoom.auth import renewal as core
from prefect_zoom.auth.renewal import Locked, Recovery, Renewal, Shielded
from prefect_zoom.auth.tokens import TokenSet
from prefect_zoom.exceptions import ZoomAuthorizeAgainError


def tokens(access: str, *, age: float = 0, ttl: float = 3600) -> TokenSet:
    issued = datetime.now(UTC) - timedelta(seconds=age)
    return TokenSet(
        access_token=SecretStr(access),
        refresh_token=SecretStr(f"r-{access}"),
        issued_at=issued,
        expires_at=issued + timedelta(seconds=ttl),
    )


class Names:
    lock_key = "renewal-test"
    recovery_key: str | None = "api renewal-test"


def kind(request: object) -> str:
    if isinstance(request, Recovery):
        return f"recovery {request.action}"
    return type(request).__name__


class Script:
    """Answers a flow's requests from a table, recording what it asked for (nesting the flows
    that run shielded or under the lock, as the real shells do)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def run(self, flow: Any) -> Any:
        step = Stepper(flow)
        while (request := step.next()) is not None:
            self.asked.append(kind(request))
            try:
                step.answer(self.answer(request))
            except Exception as exc:
                step.fail(exc)
        return step.result

    def answer(self, request: object) -> Any:
        if isinstance(request, Shielded):
            return self.run(request.flow)
        if isinstance(request, Locked):
            return self.run(request.body(locks.Lease(expires=False)))
        answer = self.answers.get(kind(request))
        if isinstance(answer, list):  # one answer per request, in order
            answer = answer.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def test_a_fresh_token_is_used_without_any_request() -> None:
    renewal = Renewal(Names(), tokens("at-1"))
    script = Script({})
    assert script.run(renewal.token(rejected=None)) == "at-1"
    assert script.asked == []


def test_a_rejected_token_adopts_the_stored_one_without_the_lock() -> None:
    renewal = Renewal(Names(), tokens("at-1"))
    script = Script({"recovery recall": None, "Load": tokens("at-other")})
    assert script.run(renewal.token(rejected="at-1")) == "at-other"
    assert script.asked == ["recovery latest", "Load"]  # nothing newer on this machine


def test_renewed_tokens_go_to_the_recovery_store_before_the_block() -> None:
    renewal = Renewal(Names(), tokens("at-1", age=4000))
    saved: list[TokenSet] = []
    script = Script(
        {
            "recovery recall": None,
            "Load": tokens("at-1", age=4000),
            "Renew": tokens("at-2"),
            "Save": lambda request: saved.append(request.tokens),
        }
    )
    assert script.run(renewal.token(rejected=None)) == "at-2"
    assert script.asked == [
        "recovery latest",
        "Load",  # adopt without the lock? the stored one is stale too
        "Shielded",
        "Locked",
        "Load",
        "recovery recall",
        "recovery forget",  # the block is not behind: no recovery file is owed
        "Renew",
        "recovery record",  # on disk first ...
        "Save",  # ... then in the block
        "recovery forget",
    ]
    assert [t.access_token.get_secret_value() for t in saved] == ["at-2"]
    assert not renewal.unsaved


def test_a_newer_recovered_token_set_is_saved_and_used_without_renewing() -> None:
    renewal = Renewal(Names(), tokens("at-1", age=4000))
    # recorded longer ago than its renewer keeps trying to save it: that renewer gave up
    recovered = tokens("at-recovered", age=core.SAVE_PATIENCE_SECONDS + 5)
    script = Script(
        {
            "recovery latest": recovered,
            "recovery recall": recovered,
            "Load": tokens("at-1", age=4000),
        }
    )
    assert script.run(renewal.token(rejected=None)) == "at-recovered"
    assert "Renew" not in script.asked
    # a save is owed: lock
    assert script.asked[:4] == ["recovery latest", "recovery recall", "Shielded", "Locked"]
    assert script.asked[-2:] == ["Save", "recovery forget"]


def test_a_token_that_ran_out_and_is_the_machines_newest_is_reloaded_under_the_lock_only() -> None:
    current = tokens("at-1", age=4000)
    renewal = Renewal(Names(), current)
    script = Script(
        {
            "recovery latest": current,  # saved: nothing newer on this machine
            "recovery recall": None,
            "Load": current,
            "Renew": tokens("at-2"),
        }
    )
    assert script.run(renewal.token(rejected=None)) == "at-2"
    assert script.asked[:4] == ["recovery latest", "recovery recall", "Shielded", "Locked"]
    assert script.asked.count("Load") == 1  # under the lock (another machine's renewal shows)


def test_tokens_just_read_from_the_block_go_to_the_lock_without_a_second_read() -> None:
    renewal = Renewal(Names(), tokens("at-1", age=4000))
    renewal.note_read()  # a connection loaded by name a moment ago
    script = Script(
        {"recovery recall": None, "Load": tokens("at-1", age=4000), "Renew": tokens("at-2")}
    )
    assert script.run(renewal.token(rejected=None)) == "at-2"
    assert script.asked[:4] == ["recovery latest", "Shielded", "Locked", "Load"]
    assert script.asked.count("Load") == 1  # under the lock only


def test_a_rejected_token_reads_the_block_again_even_just_after_loading_it() -> None:
    renewal = Renewal(Names(), tokens("at-1"))
    renewal.note_read()
    script = Script({"recovery recall": None, "Load": tokens("at-other")})
    assert script.run(renewal.token(rejected="at-1")) == "at-other"  # whoever made it stale saved
    assert script.asked == ["recovery latest", "Load"]


def test_tokens_read_a_while_ago_are_read_again_before_the_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    renewal = Renewal(Names(), tokens("at-1", age=4000))
    renewal.note_read()
    monkeypatch.setattr(core, "JUST_READ_SECONDS", 0.0)  # that read is no longer recent
    script = Script({"recovery recall": None, "Load": tokens("at-other")})
    assert script.run(renewal.token(rejected=None)) == "at-other"  # adopted without the lock
    assert script.asked == ["recovery latest", "Load"]


def test_a_rejected_token_adopts_what_another_process_just_recorded() -> None:
    # another process's renewal invalidated ours: its tokens are in the recovery store
    renewal = Renewal(Names(), tokens("at-1", age=5))
    script = Script({"recovery latest": tokens("at-new", age=1)})
    assert script.run(renewal.token(rejected="at-1")) == "at-new"
    assert script.asked == ["recovery latest"]  # no Prefect API read, no lock


def test_a_wait_for_the_lock_ends_when_another_process_records_newer_tokens() -> None:
    stale, newer = tokens("at-1", age=4000), tokens("at-new", age=1)
    renewal = Renewal(Names(), stale)

    class Overtaking(Script):
        def answer(self, request: object) -> Any:
            if isinstance(request, Locked):  # while waiting, the store gets the newer set
                assert request.overtaken is not None
                assert not request.overtaken(stale) and request.overtaken(newer)
                raise core._Overtaken(newer)
            return super().answer(request)

    script = Overtaking({"Load": stale})
    assert script.run(renewal.token(rejected=None)) == "at-new"
    assert "Renew" not in script.asked and "Save" not in script.asked
    assert renewal.usable() == "at-new"


def test_callers_use_renewed_tokens_once_recorded_while_the_save_goes_on() -> None:
    stale = tokens("at-1", age=4000)
    renewal = Renewal(Names(), stale)
    leader = renewal.token(rejected=None)
    follower = renewal.token(rejected=None)
    assert kind(next(leader)) == "recovery latest"
    flight = next(follower)
    assert type(flight).__name__ == "Follow"
    shielded = leader.send(None)  # nothing on disk, then a stale block
    while not isinstance(shielded, Shielded):
        shielded = leader.send(stale)
    locked = next(shielded.flow)
    assert isinstance(locked, Locked)
    body = locked.body(locks.Lease(expires=False))
    answers = {"Load": stale, "Renew": tokens("at-2")}
    request = next(body)
    while kind(request) != "Save":
        assert kind(request) != "Save"
        request = body.send(answers.get(kind(request)))
        if kind(request) == "Save":
            # recorded, not yet saved: the follower is released and the tokens are usable
            assert flight.flight.done()
            assert renewal.usable() == "at-2"
    assert renewal.unsaved and renewal.saving
    with pytest.raises(StopIteration) as done:
        body.send(None)  # saved ...
        body.send(None)  # ... and marked saved in the recovery store
    assert done.value.value == "at-2"
    assert not renewal.unsaved and not renewal.saving


def test_tokens_adopted_before_their_save_are_checked_again_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(core, "SAVE_PATIENCE_SECONDS", 0.2)
    renewal = Renewal(Names(), tokens("at-1", age=5))
    recorded = tokens("at-new")
    assert Script({"recovery latest": recorded}).run(renewal.token("at-1")) == "at-new"
    deadline = time.monotonic() + 30
    while renewal.usable() is not None:  # its renewer had time to save it ...
        assert time.monotonic() < deadline
    # ... but the store still lists it as owed: saved under the lock, not renewed
    script = Script(
        {"recovery latest": recorded, "recovery recall": recorded, "Load": tokens("at-1", age=5)}
    )
    assert script.run(renewal.token(rejected=None)) == "at-new"
    assert "Save" in script.asked and "Renew" not in script.asked
    assert renewal.usable() == "at-new"


def test_a_failed_save_is_retried_with_pauses_under_the_lock() -> None:
    renewal = Renewal(Names(), tokens("at-1", age=4000))
    script = Script(
        {
            "recovery recall": None,
            "Load": tokens("at-1", age=4000),
            "Renew": tokens("at-2"),
            "Save": [ConnectionError("Prefect API down"), ConnectionError("still down"), None],
        }
    )
    assert script.run(renewal.token(rejected=None)) == "at-2"
    under_lock = script.asked[script.asked.index("Renew") :]
    assert under_lock == [
        "Renew",
        "recovery record",
        "Save",
        "Pause",
        "Save",
        "Pause",
        "Save",
        "recovery forget",
    ]


def test_a_refusal_without_a_prefect_outage_fails_at_once() -> None:
    renewal = Renewal(Names(), tokens("at-1", age=4000))
    refused = ZoomAuthorizeAgainError("Invalid Token!", hint="authorize again")
    script = Script({"recovery recall": None, "Load": tokens("at-1", age=4000), "Renew": refused})
    with pytest.raises(ZoomAuthorizeAgainError):
        script.run(renewal.token(rejected=None))
    assert script.asked.count("Renew") == 1 and "Pause" not in script.asked


def test_after_an_outage_a_refusal_waits_for_a_newer_stored_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(locks, "prefect_api_url", lambda: "http://prefect.test/api")
    locks.note_api_trouble()
    stale, newer = tokens("at-1", age=4000), tokens("at-newer", age=1)
    renewal = Renewal(Names(), stale)
    refused = ZoomAuthorizeAgainError("Invalid Token!", hint="authorize again")
    script = Script(
        {
            "recovery recall": None,
            # before the lock; first try under it; still the refused one; then another
            # machine's save arrives
            "Load": [stale, stale, stale, newer],
            "Renew": [refused],
        }
    )
    assert script.run(renewal.token(rejected=None)) == "at-newer"
    assert script.asked.count("Renew") == 1  # never refreshed twice with the refused token
    assert script.asked.count("Pause") == 2


def test_a_reload_that_crawled_through_an_outage_counts_as_trouble(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Prefect's client retries through a short outage without raising: only the time tells
    monkeypatch.setattr(locks, "prefect_api_url", lambda: "http://prefect.test/api")
    monkeypatch.setattr(core, "SLOW_API_SECONDS", -1.0)  # every reload counts as slow
    stale, newer = tokens("at-1", age=4000), tokens("at-newer", age=1)
    script = Script(
        {
            "recovery recall": None,
            "Load": [stale, stale, stale, newer],
            "Renew": [ZoomAuthorizeAgainError("Invalid Token!", hint="authorize again")],
        }
    )
    assert script.run(Renewal(Names(), stale).token(rejected=None)) == "at-newer"
    assert script.asked.count("Renew") == 1


def test_followers_wait_for_the_leader_instead_of_renewing() -> None:
    renewal = Renewal(Names(), tokens("at-1", age=4000))
    leader = renewal.token(rejected=None)
    assert kind(next(leader)) == "recovery latest"  # the leader is out, doing I/O
    follower = renewal.token(rejected=None)
    assert type(next(follower)).__name__ == "Follow"
    leader.close()  # a cancelled leader: the follower looks again (and leads)
    request = follower.send(None)
    assert kind(request) == "recovery latest"


def test_the_core_does_no_io_itself() -> None:
    """Every request is a plain value the shell carries out; the core imports no I/O."""
    source = Path(core.__file__).read_text(encoding="utf-8")
    for io in ("httpx.Client", "get_client", ".load(", ".save(", "time.sleep", "open("):
        assert io not in source
    expected = {core.Load, core.Save, core.Renew, core.Pause, Locked, Shielded, Recovery}
    assert expected <= set(core.Request.__args__)
