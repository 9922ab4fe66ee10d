"""Helpers for emulator tests: tokens minted straight into the emulator's state."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

import pytest

from zoom_emulator import ZoomEmulator
from zoom_emulator.models.operations import all_scopes


def mint_token(
    emulator: ZoomEmulator,
    scopes: Iterable[str] | None = None,
    *,
    kind: str = "s2s",
    user_email: str | None = None,
) -> str:
    """An access token as the token endpoint would issue it, without a round trip.

    ``kind="s2s"`` acts for the account (its owner is ``me``); ``kind="oauth"`` acts for the user
    with ``user_email`` (the owner by default). Without ``scopes``, every scope the emulator knows.
    """
    scopes = all_scopes() if scopes is None else scopes
    state = emulator.state
    config = emulator.config
    if kind == "s2s":
        app = state.apps[config.s2s_client_id]
        return state.issue_access_token(app, user_id=None, scopes=list(scopes)).value
    app = state.apps[config.oauth_client_id]
    email = user_email or config.user_email
    user = next(u for u in state.users.values() if u.email == email)
    return state.issue_access_token(app, user_id=user.id, scopes=list(scopes)).value


@pytest.fixture
def auth_headers(zoom_emulator: ZoomEmulator) -> dict[str, str]:
    """Bearer headers of an S2S token with every scope."""
    return {"Authorization": f"Bearer {mint_token(zoom_emulator)}"}


def read_until(process: subprocess.Popen[str], marker: str) -> str:
    """A child's output up to the line holding ``marker``; fails if the child exits first."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{process.args!r} exited before printing {marker!r}:\n" + "".join(seen))
