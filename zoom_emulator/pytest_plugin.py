"""The ``zoom_emulator`` pytest fixture: a fresh emulator on a free loopback port per test.

Registered as a pytest plugin (``pytest11`` entry point), so installing the package is enough::

    def test_my_flow(zoom_emulator):
        ...  # zoom_emulator.base_url, zoom_emulator.config.s2s_client_id, ...

Configure it by defining an ``emulator_config`` fixture that returns an ``EmulatorConfig``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zoom_emulator.config import EmulatorConfig
from zoom_emulator.server import ZoomEmulator


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
