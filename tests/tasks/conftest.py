"""Fixtures of the task tests."""

from __future__ import annotations

import uuid

import pytest
from helpers.connections import s2s_credentials

from zoom_emulator import ZoomEmulator


@pytest.fixture
def block_name(zoom_emulator: ZoomEmulator) -> str:
    """A Server-to-Server block for this test's emulator, saved in the Prefect harness."""
    name = f"zoom-s2s-task-{uuid.uuid4().hex[:10]}"
    s2s_credentials(zoom_emulator).save(name, overwrite=True)
    return name
