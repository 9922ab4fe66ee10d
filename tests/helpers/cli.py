"""Running ``prefect-zoom`` commands in tests: in process (typer's runner) and as real processes."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import cast

from prefect.settings import PREFECT_API_URL
from typer.testing import CliRunner

from helpers.connections import connect_s2s_args
from prefect_zoom import ZoomOAuthCredentials, ZoomServerToServerCredentials
from prefect_zoom.cli import app
from zoom_emulator import ZoomEmulator

WIDE = {"COLUMNS": "200"}
DECLINED = "consent was declined in the browser; run the command again and choose Allow"


def flat(text: str) -> str:
    """Whitespace collapsed, so wrapped lines still match a phrase."""
    return " ".join(text.split())


def load_oauth(name: str) -> ZoomOAuthCredentials:
    """The saved OAuth block, from the Prefect API."""
    block = ZoomOAuthCredentials.load(name, _sync=True)  # type: ignore[call-arg]
    return cast(ZoomOAuthCredentials, block)


def load_s2s(name: str) -> ZoomServerToServerCredentials:
    """The saved Server-to-Server block, from the Prefect API."""
    block = ZoomServerToServerCredentials.load(name, _sync=True)  # type: ignore[call-arg]
    return cast(ZoomServerToServerCredentials, block)


def new_block_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def invoke(args: Sequence[str], secret: str | None = None) -> tuple[int, str]:
    """Run the CLI in-process; (exit code, stdout and stderr together)."""
    env = dict(WIDE)
    if secret is not None:
        env["ZOOM_CLIENT_SECRET"] = secret
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def connect_s2s(emulator: ZoomEmulator, block: str, *extra: str) -> tuple[int, str]:
    return invoke(
        [*connect_s2s_args(emulator, block), *extra], secret=emulator.config.s2s_client_secret
    )


def row_of(output: str, operation: str) -> str:
    """The table line of one activity."""
    for line in output.splitlines():
        if re.search(rf"\b{re.escape(operation)}\b", line) and ("✓" in line or "✗" in line):
            return line
    raise AssertionError(f"no table row for {operation}:\n{output}")


class CliProcess:
    """``python -m prefect_zoom.cli ...`` in a subprocess, its output read line by line."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        full_env = {
            **os.environ,
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "PREFECT_HOME": os.environ["PREFECT_HOME"],
            **WIDE,
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "prefect_zoom.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env=full_env,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, wanted: Callable[[str], bool], timeout: float = 60) -> str:
        """The first output line that ``wanted`` accepts; fails at the deadline or at exit."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                raise AssertionError(f"the CLI ended without that line:\n{self.output}")
            self.lines.append(line)
            if wanted(line):
                return line.strip()
        raise AssertionError(f"no such line within {timeout} s:\n{self.output}")

    def authorize_url(self, timeout: float = 60) -> str:
        return self.wait_for_line(
            lambda line: line.strip().startswith("http") and "/oauth/authorize?" in line, timeout
        )

    def finish(self, timeout: float = 60) -> int:
        """Wait for the exit (killing the process at the deadline); the exit code."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"the CLI did not end within {timeout} s:\n{self.output}"
            ) from None
        self._reader.join(timeout=10)
        while (line := self._queue.get_nowait() if not self._queue.empty() else None) is not None:
            self.lines.append(line)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_connect_oauth(
    emulator: ZoomEmulator, block: str, *extra: str, secret: str | None = None
) -> CliProcess:
    """``prefect-zoom connect oauth --no-browser`` against the emulator's built-in OAuth app."""
    config = emulator.config
    return CliProcess(
        [
            "connect",
            "oauth",
            "--block",
            block,
            "--client-id",
            config.oauth_client_id,
            "--base-url",
            emulator.base_url,
            "--no-browser",
            *extra,
        ],
        env={"ZOOM_CLIENT_SECRET": secret or config.oauth_client_secret},
    )
