"""Roles in user listings as Zoom gives them: ``role_id`` (Zoom's list of users names no role)."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest
from helpers.connections import s2s_credentials

from prefect_zoom.flows import users_report
from prefect_zoom.tasks import list_users
from zoom_emulator import EmulatorConfig, ZoomEmulator


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(seed_users=3)


def test_users_report_and_list_users_carry_each_users_role_id(
    zoom_emulator: ZoomEmulator, tmp_path: Path
) -> None:
    block = f"roles-{uuid.uuid4().hex[:8]}"
    s2s_credentials(zoom_emulator).save(block)
    expected = {
        user.email: "0" if user.role_name == "Owner" else "2"
        for user in zoom_emulator.state.users.values()
    }
    assert sorted(expected.values()) == ["0", "2", "2"]

    path = users_report(block, output_csv=str(tmp_path / "users.csv"))
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))

    assert {row["email"]: row["role_id"] for row in rows} == expected
    assert "role_name" not in rows[0], "a column Zoom's list never fills"
    assert {user.email: user.role_id for user in list_users(block)} == expected
