"""The pack's catalog agrees with Zoom's OpenAPI spec (vendored in ``zoom_emulator/spec/``) and
with the emulator's own table, which is read from that spec and written apart from the catalog.

Each operation's method and path must be the spec's, its classic scopes the spec's
``x-macro-scopes``, its granular scopes the spec's ``x-granular-scopes`` where the spec has them,
and its label the spec's "Rate Limit Label". The spec copy's known gaps are named here, each
checked so that a newer spec that fills them makes this test say so.
"""

from __future__ import annotations

import pytest

from prefect_zoom.catalog import OPERATIONS, Operation
from zoom_emulator.models.operations import (
    CLASSIC_SCOPE_ERRATA,
    load_spec,
    operations,
    spec_label,
    spec_operations,
    spec_scopes,
)

SPEC = {(method, path): op for method, path, op in spec_operations(load_spec()).values()}
NOT_IN_THE_SPEC_COPY = {"list_account_recordings", "download_recording_file"}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_catalog_entry_matches_the_spec(name: str) -> None:
    entry: Operation = OPERATIONS[name]
    spec_op = SPEC.get((entry.method, entry.path))
    if name in NOT_IN_THE_SPEC_COPY:
        assert spec_op is None, f"the spec now has {name}: check it here instead"
        return
    assert spec_op is not None, f"{entry.method} {entry.path} is not in Zoom's spec"
    classic, granular = spec_scopes(spec_op)
    if name in CLASSIC_SCOPE_ERRATA:
        assert set(classic) != set(CLASSIC_SCOPE_ERRATA[name]), f"the spec fixed {name}"
        classic = CLASSIC_SCOPE_ERRATA[name]
    assert set(entry.classic_scopes) == set(classic)
    if granular:
        assert set(entry.granular_scopes) == set(granular)
    assert entry.label.value == spec_label(spec_op)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_catalog_entry_matches_the_emulator(name: str) -> None:
    entry, emulated = OPERATIONS[name], operations()[name]
    assert (entry.method, entry.path, entry.label.value) == (
        emulated.method,
        emulated.path,
        emulated.label,
    )
    assert set(entry.classic_scopes) == set(emulated.classic_scopes)
    assert entry.granular_scopes == emulated.granular_scopes  # their order is Zoom's 4711 message


def test_the_emulator_serves_exactly_the_catalog() -> None:
    assert set(operations()) == set(OPERATIONS)
