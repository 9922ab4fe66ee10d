"""Sizes of the reliability suite and its checks.

Short by default (part of ``make test``), long with ``ZOOM_CHAOS=full`` (``make chaos``): the same
tests run in both; only the amounts change.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from prefect_zoom.flows._manifest import MANIFEST_NAME
from zoom_emulator import ZoomEmulator


@dataclass(frozen=True)
class ChaosSize:
    """How much each reliability scenario moves."""

    name: str
    recordings: int
    """Recorded meetings seeded for the fault scenarios (4 files each)."""
    recording_bytes: int
    """Size of each MP4 in the fault scenarios."""
    big_files: int
    """MP4 files of the revoke and kill scenarios."""
    big_bytes: int
    """Size of each of those files: large enough to catch a download midway."""
    killed_workers: int
    """Workers on one connection killed with SIGKILL at random moments while renewing."""
    workers_at_once: int
    """How many of them run at the same time."""
    outage_seconds: float
    """How long the Prefect server stays away under load."""


SIZES = {
    "short": ChaosSize(
        "short",
        recordings=3,
        recording_bytes=400_000,
        big_files=3,
        big_bytes=60_000_000,
        killed_workers=8,
        workers_at_once=4,
        outage_seconds=8.0,
    ),
    "full": ChaosSize(
        "full",
        recordings=25,
        recording_bytes=4_000_000,
        big_files=6,
        big_bytes=300_000_000,
        killed_workers=40,
        workers_at_once=8,
        outage_seconds=15.0,
    ),
}


def chaos_size() -> ChaosSize:
    """``ZOOM_CHAOS=full`` selects the long form; anything else the short one."""
    return SIZES["full" if os.environ.get("ZOOM_CHAOS", "").strip().lower() == "full" else "short"]


SIZE = chaos_size()


def archived_files(folder: Path) -> dict[str, Path]:
    """Archived recording files by name (the manifest and hidden files left out)."""
    return {
        p.name: p
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith(".")
    }


def leftovers(folder: Path) -> list[Path]:
    """Partial downloads and temporary manifests left in a destination (the manifest's lock
    file stays by design: it holds nothing)."""
    return [p for p in folder.rglob(".*") if p.is_file() and not p.name.endswith(".lock")]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while piece := source.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()


def assert_archive_matches_zoom(emulator: ZoomEmulator, folder: Path) -> None:
    """Every file the emulator holds landed once, byte-identical to its own; nothing partial."""
    files = archived_files(folder)
    assert len(files) == len(emulator.state.files), sorted(files)
    for name, path in files.items():
        file_id = name.rsplit("_", 1)[1].split(".")[0]
        expected = emulator.control("GET", f"files/{file_id}", timeout=120)["sha256"]
        assert file_sha256(path) == expected, name
    left = leftovers(folder)
    assert left == [], [(p.name, p.stat().st_size) for p in left]
