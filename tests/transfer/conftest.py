"""Fixtures of the transfer tests."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from prefect_zoom.transfer import files


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as the system's temporary folder, with no staging folder chosen yet."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(files, "_staging", None)
    return tmp_path
