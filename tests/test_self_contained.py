"""The repository stands on its own: nothing in it points at research notes outside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = ("shared/zoom", "FACTS.md", "../shared")


def test_no_file_points_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    offenders = []
    for name in filter(None, tracked):
        path = ROOT / name.decode()
        if path == Path(__file__).resolve() or path.suffix not in {".py", ".md", ".toml", ".yaml"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{name.decode()}: {needle}" for needle in OUTSIDE if needle in text]
    assert tracked and not offenders, (
        "Zoom facts the code relies on belong in docs/zoom-behaviour.md (with their source): "
        f"{offenders}"
    )
