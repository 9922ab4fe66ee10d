"""Test helpers for users of the pack: a pytest fixture and a context manager for the emulator.

In your own ``conftest.py``::

    from prefect_zoom.testing import zoom_emulator  # noqa: F401

    def test_my_flow(zoom_emulator):
        ...  # zoom_emulator.base_url, zoom_emulator.config.s2s_client_id, ...
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prefect_zoom.emulator import EmulatorConfig, ZoomEmulator, running_emulator


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


__all__ = ["EmulatorConfig", "ZoomEmulator", "running_emulator", "zoom_emulator"]
