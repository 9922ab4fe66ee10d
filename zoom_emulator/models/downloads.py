"""Recording downloads as Zoom grants them: download tokens, short-lived signed file addresses
and byte ranges (no HTTP here). The behaviour is described in :mod:`zoom_emulator.routes.downloads`."""

from __future__ import annotations

import hashlib
import hmac
import re

from zoom_emulator.models.errors import ZoomError, zoom_error
from zoom_emulator.models.state import (
    AccessToken,
    EmulatorState,
    RecordingFile,
    RecordingMeeting,
    new_token,
    now,
)

DOWNLOAD_TOKEN_CLIENT = "emulator-download-token"
"""``client_id`` of download tokens: no app has it, so they never pass as REST API tokens."""
DOWNLOAD_TOKEN_TTL = 86_400
SIGNED_URL_TTL = 300
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(Exception):
    """The ``Range`` header asks for bytes beyond the end of the file."""


def issue_download_token(
    state: EmulatorState, account_id: str, meeting_uuid: str | None, ttl: int = DOWNLOAD_TOKEN_TTL
) -> AccessToken:
    """A token that downloads the files of one meeting (or, with ``None``, of the whole account).

    It works only on ``/rec/download``: the REST API refuses it as an unknown app's token.
    """
    token = AccessToken(
        value=new_token("emu_dl_"),
        client_id=DOWNLOAD_TOKEN_CLIENT,
        account_id=account_id,
        user_id=None,
        scopes=[f"download:{meeting_uuid or '*'}"],
        expires_at=now() + ttl,
    )
    state.access_tokens[token.value] = token
    return token


def download_token(state: EmulatorState, value: str) -> AccessToken | None:
    token = state.access_tokens.get(value)
    if token is None or token.client_id != DOWNLOAD_TOKEN_CLIENT:
        return None
    return token


def check_download_token(token: AccessToken, recording: RecordingMeeting) -> None:
    if token.revoked:
        raise zoom_error("invalid_token")
    if token.expires_at <= now():
        raise zoom_error("expired_token")
    allowed = {f"download:{recording.uuid}", "download:*"}
    if token.account_id != recording.account_id or not allowed & set(token.scopes):
        raise zoom_error("invalid_token")


def find_file(state: EmulatorState, file_id: str) -> tuple[RecordingMeeting, RecordingFile]:
    """A downloadable file: it exists, Zoom finished processing it, and neither it nor its meeting
    is in the trash."""
    entry = state.files.get(file_id)
    recording = state.recordings.get(entry[0]) if entry else None
    if (
        entry is None
        or recording is None
        or recording.deleted
        or entry[1].deleted
        or entry[1].status != "completed"
    ):
        raise zoom_error("no_recording")
    return recording, entry[1]


def _signature(key: bytes, file_id: str, expires: int) -> str:
    return hmac.new(key, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def sign(key: bytes, file_id: str, ttl: int = SIGNED_URL_TTL) -> str:
    """``<expiry>.<hmac>``: the ``sig`` query value of a file address."""
    expires = int(now()) + ttl
    return f"{expires}.{_signature(key, file_id, expires)}"


def check_signature(key: bytes, file_id: str, sig: str) -> None:
    """403 unless ``sig`` was made for this file by this emulator and has not expired."""
    expires_text, _, digest = sig.partition(".")
    valid = expires_text.isascii() and expires_text.isdigit() and len(expires_text) < 20
    if not valid or not hmac.compare_digest(
        digest.encode(), _signature(key, file_id, int(expires_text)).encode()
    ):
        raise ZoomError(403, 403, "The signature of this address does not match.")
    if int(expires_text) < now():
        raise ZoomError(403, 403, "This address has expired: request the download URL again.")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single ``bytes=`` range; ``None`` for the whole file.

    A malformed header or a multi-range request is ignored (the whole file is served, as RFC 9110
    allows); a range that starts at or beyond the end raises :class:`RangeNotSatisfiable`.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE.match(spec)
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable
        return max(0, size - length), size
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    end = size if last == "" else min(int(last) + 1, size)
    return start, end
