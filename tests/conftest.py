"""Test session setup: a private PREFECT_HOME, one Prefect test harness, emulator fixtures
(``zoom_emulator`` itself comes from the emulator's pytest plugin, registered by its entry point)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

# Prefect reads its settings at import: point it at a private home before anything imports it.
_PREFECT_HOME = tempfile.mkdtemp(prefix="prefect-zoom-tests-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Tests share one Prefect API: the account-wide budget (daily meeting counts too) only where a
# test turns it on (tests/client/test_account_budget.py).
os.environ.setdefault("PREFECT_ZOOM_ACCOUNT_BUDGET", "off")

from zoom_emulator import EmulatorConfig, ZoomEmulator  # noqa: E402

T = TypeVar("T")


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    """One Prefect API (temporary SQLite database) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture(autouse=True)
def healthy_prefect_api() -> None:
    """Each test starts with no memory of an earlier test's Prefect API failures: a refused
    refresh waits for another machine's save only after an outage this process saw."""
    from prefect_zoom.auth import locks

    locks.forget_api_trouble()


@pytest.fixture(autouse=True)
def fresh_connections() -> Iterator[None]:
    """Each test starts as a new process would, with no connection loaded by name: tests save
    blocks of the same name against emulators that come and go."""
    from prefect_zoom.connections import CONNECTIONS

    CONNECTIONS.clear()
    yield
    CONNECTIONS.clear()


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Override in a test module to start the emulator differently."""
    return EmulatorConfig()


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[ZoomEmulator]:
    """An emulator with default settings, shared by tests that only read."""
    with ZoomEmulator() as emulator:
        yield emulator


def record_calls(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, note: Callable[[Any], T]
) -> list[T]:
    """Wrap ``owner.<name>`` for the test: each call runs as before, and ``note`` of its first
    argument is appended to the list returned."""
    notes: list[T] = []
    real = getattr(owner, name)

    def spy(first: Any, *args: Any, **kwargs: Any) -> Any:
        notes.append(note(first))
        return real(first, *args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return notes


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths every ``os.fsync`` call of the test forced to disk, in order."""
    return record_calls(monkeypatch, os, "fsync", lambda fd: os.readlink(f"/proc/self/fd/{fd}"))


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 API on loopback (moto's server in a child process) for the whole session."""
    from helpers.s3 import moto_s3

    with moto_s3(tmp_path_factory.mktemp("moto") / "moto.log") as endpoint:
        yield endpoint


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as the system's temporary folder, with no staging folder chosen yet."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from prefect_zoom.transfer import files

    monkeypatch.setattr(files, "_staging", None)
    return tmp_path


@pytest.fixture
def read_bytes_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path ``Path.read_bytes`` is called on during the test."""
    return record_calls(monkeypatch, Path, "read_bytes", lambda path: path)
