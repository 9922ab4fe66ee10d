"""Helpers for emulator tests: tokens minted straight into the emulator's state."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from prefect_zoom.catalog import ALL_SCOPES
from zoom_emulator import ZoomEmulator


def mint_token(
    emulator: ZoomEmulator,
    scopes: Iterable[str] = ALL_SCOPES,
    *,
    kind: str = "s2s",
    user_email: str | None = None,
) -> str:
    """An access token as the token endpoint would issue it, without a round trip.

    ``kind="s2s"`` acts for the account (its owner is ``me``); ``kind="oauth"`` acts for the user
    with ``user_email`` (the owner by default).
    """
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
