"""Run the emulator on uvicorn: in the foreground (CLI) or in a background thread (tests, demo)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from zoom_emulator.app import create_app
from zoom_emulator.config import EmulatorConfig
from zoom_emulator.faults import hide_injected_fault_tracebacks
from zoom_emulator.models.state import EmulatorState, build_state


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ZoomEmulator:
    """A running emulator. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    >>> with ZoomEmulator() as zoom:
    ...     zoom.base_url  # doctest: +SKIP
    'http://127.0.0.1:53123'
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_level: str = "warning",
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port or free_port(host)
        self.state: EmulatorState = build_state(self.config)
        self.app = create_app(state=self.state)
        hide_injected_fault_tracebacks()
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=self.host,
                port=self.port,
                log_level=log_level,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=2,
            )
        )
        self._thread: threading.Thread | None = None

    # ---- addresses ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """Where both ``/oauth`` and ``/v2`` live (Zoom's ``zoom.us`` and ``api.zoom.us`` in one)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v2"

    @property
    def oauth_url(self) -> str:
        return f"{self.base_url}/oauth"

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ZoomEmulator:
        """Serve in a daemon thread; return once the port answers."""
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve()), name="zoom-emulator", daemon=True
        )
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the Zoom emulator could not start on {self.base_url}")
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def serve_forever(self, on_ready: Callable[[], object] | None = None) -> None:
        """Serve in the foreground until interrupted (Ctrl+C); ``on_ready`` runs once the port
        answers (so what it prints is true when it is read)."""

        async def serve() -> None:
            serving = asyncio.ensure_future(self._server.serve())
            while not (self._server.started or serving.done()):
                await asyncio.sleep(0.01)
            if self._server.started and on_ready is not None:
                on_ready()
            await serving

        asyncio.run(serve())

    def __enter__(self) -> ZoomEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- control surface ---------------------------------------------------------------------
    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the ``/_emulator/`` control surface and return its JSON answer."""
        response = httpx.request(method, f"{self.base_url}/_emulator/{path.lstrip('/')}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None


@contextmanager
def running_emulator(config: EmulatorConfig | None = None, **kwargs: Any) -> Iterator[ZoomEmulator]:
    """Start an emulator on a free loopback port for the duration of a ``with`` block."""
    with ZoomEmulator(config, **kwargs) as emulator:
        yield emulator
