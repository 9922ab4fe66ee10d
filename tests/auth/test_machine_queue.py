"""The processes of one machine queue on a local file before they poll the Prefect API for a
connection's lock slot; a place in that queue is never held longer than ``QUEUE_SECONDS``."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from prefect_zoom.auth import locks

TRY_QUEUE = """
import sys, filelock
try:
    filelock.FileLock(sys.argv[1]).acquire(timeout=0)
except filelock.Timeout:
    sys.exit(3)
"""

HOLD_QUEUE = """
import sys, time, filelock
filelock.FileLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(600)
"""


def queue_is_free(key: str) -> bool:
    """Whether another process could take the machine's queue of ``key`` now."""
    done = subprocess.run(
        [sys.executable, "-c", TRY_QUEUE, str(locks.queue_file(key))], timeout=60, check=False
    )
    assert done.returncode in (0, 3), done
    return done.returncode == 0


def test_the_holder_keeps_its_place_in_the_machine_queue() -> None:
    key = f"queue-{uuid.uuid4().hex[:8]}"
    with locks.connection_lock(key):
        assert not queue_is_free(key)  # another process of this machine waits here, not at the API
    assert queue_is_free(key)


def test_a_frozen_queue_holder_is_passed_after_queue_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(locks, "QUEUE_SECONDS", 0.2)
    key = f"queue-frozen-{uuid.uuid4().hex[:8]}"
    locks.queue_file(key).parent.mkdir(parents=True, exist_ok=True)
    frozen = subprocess.Popen(
        [sys.executable, "-c", HOLD_QUEUE, str(locks.queue_file(key))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert frozen.stdout is not None and frozen.stdout.readline().strip() == "held"
        with locks.connection_lock(key) as lease:  # the Prefect slot, taken without the queue
            assert lease.remaining() > 0
    finally:
        frozen.kill()
        frozen.wait(10)
