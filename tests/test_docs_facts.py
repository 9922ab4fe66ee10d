"""Figures and names the docs state, checked against the code and files that decide them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from prefect_zoom.models.meetings import Recurrence, RecurrenceType

ROOT = Path(__file__).resolve().parents[1]


def documented_repeat_limits(doc: Path) -> dict[RecurrenceType, int]:
    """The ``repeat_interval`` row of a doc's column table: "days (≤ 90), weeks (≤ 12) or ..."."""
    (row,) = [
        line for line in doc.read_text().splitlines() if line.startswith("| `repeat_interval`")
    ]
    units = {
        "days": RecurrenceType.DAILY,
        "weeks": RecurrenceType.WEEKLY,
        "months": RecurrenceType.MONTHLY,
    }
    found = {units[unit]: int(limit) for unit, limit in re.findall(r"(\w+) \(≤ (\d+)\)", row)}
    assert set(found) == set(units.values()), row
    return found


def recurrence(kind: RecurrenceType, interval: int) -> Recurrence:
    weekly = [2] if kind is RecurrenceType.WEEKLY else None
    monthly = 1 if kind is RecurrenceType.MONTHLY else None
    return Recurrence(type=kind, repeat_interval=interval, weekly_days=weekly, monthly_day=monthly)


@pytest.mark.parametrize("doc", ["docs/meetings.md", "docs/flows.md"])
def test_documented_repeat_interval_limits_are_the_enforced_ones(doc: str) -> None:
    for kind, limit in documented_repeat_limits(ROOT / doc).items():
        assert recurrence(kind, limit).repeat_interval == limit
        with pytest.raises(ValidationError, match="over Zoom's limit"):
            recurrence(kind, limit + 1)


def test_every_deployment_of_prefect_yaml_is_documented() -> None:
    document = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    names = [entry["name"] for entry in document["deployments"]]
    text = (ROOT / "docs" / "deployments.md").read_text()
    table = {m for m in re.findall(r"^\| `([\w-]+)` \|", text, flags=re.MULTILINE)}
    assert set(names) <= table, f"not in docs/deployments.md's table: {set(names) - table}"
    counts = {
        2: "Two",
        3: "Three",
        4: "Four",
        5: "Five",
        6: "Six",
        7: "Seven",
        8: "Eight",
        9: "Nine",
    }
    assert f"{counts[len(names)]} deployments come ready-made" in text
