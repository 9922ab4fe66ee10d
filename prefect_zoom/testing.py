"""Test helpers for users of the pack: the local Zoom's pytest fixture and context manager.

Installing the pack with its ``emulator`` extra registers the ``zoom_emulator`` fixture as a
pytest plugin, so tests can use it without importing anything::

    def test_my_flow(zoom_emulator):
        ...  # zoom_emulator.base_url, zoom_emulator.config.s2s_client_id, ...

This module re-exports it (and the emulator's ``ZoomEmulator``, ``EmulatorConfig`` and
``running_emulator``) from the ``zoom_emulator`` package. pytest is not a dependency of the pack:
without it, this module still imports and ``running_emulator``/``ZoomEmulator`` work; only the
``zoom_emulator`` fixture needs pytest.
"""

from __future__ import annotations

from zoom_emulator import EmulatorConfig, ZoomEmulator, running_emulator

try:
    from zoom_emulator.pytest_plugin import zoom_emulator
except ImportError:
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True

__all__ = ["EmulatorConfig", "ZoomEmulator", "running_emulator", "zoom_emulator"]

if not _HAVE_PYTEST:

    def __getattr__(name: str) -> object:
        if name == "zoom_emulator":
            raise ImportError(
                "prefect_zoom.testing.zoom_emulator is a pytest fixture and pytest is not "
                "installed: run `pip install pytest` (running_emulator and ZoomEmulator work "
                "without it)"
            )
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
