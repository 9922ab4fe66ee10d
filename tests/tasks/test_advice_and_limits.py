"""What a task says before any request leaves: scope advice that fits the call, input refused."""

from __future__ import annotations

import pytest
from helpers.connections import oauth_credentials, s2s_credentials
from prefect import flow

from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.exceptions import ZoomInputError, ZoomMissingScopesError
from prefect_zoom.tasks import get_user, list_recordings
from zoom_emulator import ZoomEmulator


def test_a_scope_that_reads_only_me_is_never_offered_for_another_user(
    zoom_emulator: ZoomEmulator,
) -> None:
    zoom_emulator.state.apps[zoom_emulator.config.oauth_client_id].scopes = ["user_info:read"]
    credentials = oauth_credentials(zoom_emulator)

    @flow
    def someone_else() -> None:
        get_user(credentials, "someone@example.com")

    before = zoom_emulator.state.counters["requests"]
    with pytest.raises(ZoomMissingScopesError) as caught:
        someone_else()
    assert zoom_emulator.state.counters["requests"] == before
    assert caught.value.scopes_to_add == ["user:read", "user:read:user"]
    assert "user_info:read" not in str(caught.value)


def test_scope_advice_for_me_still_offers_user_info_read() -> None:
    get_user_op = OPERATIONS["get_user"]
    assert "user_info:read" in get_user_op.scopes_to_add()
    assert "user_info:read" not in get_user_op.scopes_to_add(user_id="ada@example.com")
    assert get_user_op.is_satisfied_by(["user_info:read"])
    assert not get_user_op.is_satisfied_by(["user_info:read"], user_id="ada@example.com")


@pytest.mark.parametrize("page_size", [0, -5, 301, 10_000])
def test_page_size_outside_1_to_300_is_refused_before_any_request(
    shared_emulator: ZoomEmulator, page_size: int
) -> None:
    credentials = s2s_credentials(shared_emulator)

    @flow
    def listing() -> None:
        list_recordings(credentials, page_size=page_size)

    before = shared_emulator.state.counters["requests"]
    with pytest.raises(ZoomInputError) as caught:
        listing()
    assert caught.value.field == "page_size"
    assert str(page_size) in caught.value.problem and "300" in caught.value.fix
    assert shared_emulator.state.counters["requests"] == before


def test_page_size_at_the_bounds_is_sent_as_given(shared_emulator: ZoomEmulator) -> None:
    credentials = s2s_credentials(shared_emulator)

    @flow
    def listing(page_size: int) -> int:
        return len(list_recordings(credentials, page_size=page_size))

    assert listing(1) == listing(300) == shared_emulator.config.recordings_per_user
