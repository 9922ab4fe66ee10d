"""Test helpers for users of the pack: a pytest fixture and a context manager for the emulator.

In your own ``conftest.py``::

    from prefect_zoom.testing import zoom_emulator  # noqa: F401

    def test_my_flow(zoom_emulator):
        ...  # zoom_emulator.base_url, zoom_emulator.config.s2s_client_id, ...

pytest is not a dependency of the pack: without it, this module still imports and
``running_emulator``/``ZoomEmulator`` work; only the ``zoom_emulator`` fixture needs pytest.
"""

from __future__ import annotations

from collections.abc import Iterator

from zoom_emulator import EmulatorConfig, ZoomEmulator, running_emulator

try:
    import pytest
except ImportError:
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True

__all__ = ["EmulatorConfig", "ZoomEmulator", "running_emulator", "zoom_emulator"]

if _HAVE_PYTEST:

    @pytest.fixture
    def zoom_emulator(request: pytest.FixtureRequest) -> Iterator[ZoomEmulator]:
        """A fresh emulator on a free loopback port. Configure it with an ``emulator_config`` fixture."""
        config: EmulatorConfig
        try:
            config = request.getfixturevalue("emulator_config")
        except pytest.FixtureLookupError:
            config = EmulatorConfig()
        with ZoomEmulator(config) as emulator:
            yield emulator

else:

    def __getattr__(name: str) -> object:
        if name == "zoom_emulator":
            raise ImportError(
                "prefect_zoom.testing.zoom_emulator is a pytest fixture and pytest is not "
                "installed: run `pip install pytest` (running_emulator and ZoomEmulator work "
                "without it)"
            )
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
