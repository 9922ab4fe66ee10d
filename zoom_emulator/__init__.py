"""A local Zoom: OAuth, REST API v2, recordings, rate limits and faults, over real HTTP on loopback.

Start one with ``prefect-zoom emulator`` or, in Python and tests::

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
