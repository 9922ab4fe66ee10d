"""Zoom's token pagination for the emulator's list endpoints.

Zoom answers a list one page at a time with ``page_size``, ``total_records`` and a
``next_page_token`` that is empty on the last page. A token is opaque, lives 15 minutes
(``config.page_token_ttl``) and only works for the listing that issued it. Usage in a route::

    page, fields = paginate(state, f"users:{account_id}:{status}", users, page_size, token)
    return {**fields, "users": page}
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from typing import Any, TypeVar

from zoom_emulator.models.errors import ZoomError, validation_failed
from zoom_emulator.models.state import EmulatorState, PageCursor, now

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 300
INVALID_TOKEN_MESSAGE = "The next page token is invalid or expired."
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def check_page_size(page_size: int | None) -> int:
    """The page size to use: 30 when absent; 400 code 300 when below 1 or above 300."""
    if page_size is None:
        return DEFAULT_PAGE_SIZE
    if page_size > MAX_PAGE_SIZE:
        raise validation_failed(
            [{"field": "page_size", "message": f"must be less than or equal to {MAX_PAGE_SIZE}"}]
        )
    if page_size < 1:
        raise validation_failed(
            [{"field": "page_size", "message": "must be greater than or equal to 1"}]
        )
    return page_size


def _new_token() -> str:
    """An opaque token shaped like Zoom's (35 letters and digits)."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(35))


def _forget_expired(state: EmulatorState, moment: float) -> None:
    for token in [t for t, c in state.page_cursors.items() if c.expires_at <= moment]:
        del state.page_cursors[token]


def paginate(
    state: EmulatorState,
    key: str,
    items: Sequence[T],
    page_size: int | None,
    next_page_token: str | None,
    *,
    with_page_number: bool = False,
) -> tuple[list[T], dict[str, Any]]:
    """Cut one page out of ``items`` (the whole listing, in its stable order).

    ``key`` names the listing and every filter that shapes it (e.g. ``"users:acct:active"``):
    a token issued for one key is refused for another. Returns the page and the pagination
    fields to merge into the answer: ``page_size``, ``total_records``, ``next_page_token``
    (``""`` on the last page) and, with ``with_page_number``, the legacy ``page_count`` and
    ``page_number`` that some lists (``GET /users``) still carry.

    Raises Zoom's 400 code 300: "Validation Failed." for a page size outside 1..300, and
    "The next page token is invalid or expired." for an unknown, expired or foreign token.
    Tokens stay valid until they expire, so a client may retry a page.
    """
    size = check_page_size(page_size)
    moment = now()
    offset = 0
    if next_page_token:
        cursor = state.page_cursors.get(next_page_token)
        if cursor is None or cursor.key != key or cursor.expires_at <= moment:
            raise ZoomError(400, 300, INVALID_TOKEN_MESSAGE)
        offset = cursor.offset
    _forget_expired(state, moment)
    page = list(items[offset : offset + size])
    end = offset + len(page)
    token = ""
    if end < len(items):
        token = _new_token()
        state.page_cursors[token] = PageCursor(
            key=key, offset=end, expires_at=moment + state.config.page_token_ttl
        )
    fields: dict[str, Any] = {
        "page_size": size,
        "total_records": len(items),
        "next_page_token": token,
    }
    if with_page_number:
        fields["page_count"] = -(-len(items) // size)
        fields["page_number"] = offset // size + 1
    return page, fields
