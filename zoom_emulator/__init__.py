"""A local Zoom: OAuth, REST API v2, recordings, rate limits and faults, over real HTTP on loopback.

A package of its own (it imports nothing from Prefect or prefect-zoom): ``models/`` holds the state
and Zoom's behaviour without HTTP, ``routes/`` the thin HTTP side, ``control.py`` the
``/_emulator/`` controls, ``spec/`` Zoom's OpenAPI spec it reads scopes and labels from.

Start one with ``zoom-emulator`` (or ``prefect-zoom emulator``), or in Python and tests (the
``zoom_emulator`` pytest fixture is registered as a plugin)::

    from zoom_emulator import ZoomEmulator

    with ZoomEmulator() as zoom:
        print(zoom.base_url)
"""

from zoom_emulator.app import create_app
from zoom_emulator.config import EmulatorConfig, FaultSettings
from zoom_emulator.server import ZoomEmulator, free_port, running_emulator

__all__ = [
    "EmulatorConfig",
    "FaultSettings",
    "ZoomEmulator",
    "create_app",
    "free_port",
    "running_emulator",
]
