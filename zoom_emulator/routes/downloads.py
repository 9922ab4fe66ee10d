"""Emulator routes: recording downloads, the way Zoom serves them.

``GET /rec/download/{file_id}`` is the ``download_url`` of a recording file. It wants
``Authorization: Bearer …``: an access token of the file's account with a recording read scope,
or a download token (``download_access_token`` of ``GET /meetings/{id}/recordings``, or a
webhook's ``download_token``). A token in the query string gets 401 code 124, as on Zoom.
Success is a **302** to ``/rec/files/{file_id}?sig=…``: a short-lived signed address that needs
no Authorization (Zoom's CDN). That route streams the file's deterministic bytes
(:mod:`zoom_emulator.models.content`) in 64 KiB pieces, so a file of gigabytes costs no memory,
and honours ``Range`` (206, or 416 when unsatisfiable) and ``HEAD``.

A file still processing (``status: "processing"``, see ``POST /_emulator/recordings``) answers
404 code 3301 on both routes until ``POST /_emulator/recordings/{uuid}/complete``.

Faults (``config.faults``): ``html_download_rate`` answers the download URL with 200 and an HTML
"Please sign in" page (Zoom does); ``cut_download_rate`` closes the connection after about half of
the bytes. Counters: ``downloads``, ``download bytes``, ``fault html download``,
``fault cut download``.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import secrets
from collections.abc import AsyncIterator
from email.utils import format_datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from zoom_emulator.faults import InjectedFault
from zoom_emulator.models import content
from zoom_emulator.models.access import owns_or_administers
from zoom_emulator.models.errors import ZoomError, zoom_error
from zoom_emulator.models.operations import operations
from zoom_emulator.models.state import (
    AccessToken,
    EmulatorState,
    RecordingFile,
    RecordingMeeting,
    new_token,
    now,
)
from zoom_emulator.routes.auth import caller_for, state_of

router = APIRouter()

DOWNLOAD_OPERATION = operations()["download_recording_file"]
DOWNLOAD_TOKEN_CLIENT = "emulator-download-token"
"""``client_id`` of download tokens: no app has it, so they never pass as REST API tokens."""
DOWNLOAD_TOKEN_TTL = 86_400
SIGNED_URL_TTL = 300
SIGN_IN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign In - Zoom</title></head>"
    b"<body><h1>Please sign in</h1><p>Sign in to Zoom to view or download this recording.</p>"
    b'<form action="/signin" method="post"><button type="submit">Sign In</button></form>'
    b"</body></html>\n"
)
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")

_authenticate_api_token = caller_for(DOWNLOAD_OPERATION.name)


class RangeNotSatisfiable(Exception):
    """The ``Range`` header asks for bytes beyond the end of the file."""


# ---- download tokens ---------------------------------------------------------------------------
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


def _download_token(state: EmulatorState, value: str) -> AccessToken | None:
    token = state.access_tokens.get(value)
    if token is None or token.client_id != DOWNLOAD_TOKEN_CLIENT:
        return None
    return token


def _check_download_token(token: AccessToken, recording: RecordingMeeting) -> None:
    if token.revoked:
        raise zoom_error("invalid_token")
    if token.expires_at <= now():
        raise zoom_error("expired_token")
    allowed = {f"download:{recording.uuid}", "download:*"}
    if token.account_id != recording.account_id or not allowed & set(token.scopes):
        raise zoom_error("invalid_token")


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


# ---- files -------------------------------------------------------------------------------------
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


async def _may_download(request: Request, state: EmulatorState, file_id: str) -> RecordingFile:
    """Authenticate as Zoom does for a download URL; return the file."""
    download_token = _download_token(state, _bearer(request))
    if download_token is not None:
        recording, file = find_file(state, file_id)
        _check_download_token(download_token, recording)
        return file
    caller = await _authenticate_api_token(request)  # 401 / 124, 400 / 4711, 429
    recording, file = find_file(state, file_id)
    if recording.account_id != caller.account_id:
        raise zoom_error("no_recording")
    if not owns_or_administers(caller, DOWNLOAD_OPERATION, recording.host_id):
        raise zoom_error("no_permission")
    return file


# ---- signed addresses --------------------------------------------------------------------------
def _signing_key(request: Request) -> bytes:
    """A random key per emulator, made on first use."""
    key = getattr(request.app.state, "download_signing_key", None)
    if not isinstance(key, bytes):
        key = secrets.token_bytes(32)
        request.app.state.download_signing_key = key
    return key


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


def _dice(request: Request) -> random.Random:
    dice = getattr(request.app.state, "download_dice", None)
    if not isinstance(dice, random.Random):
        dice = random.Random(state_of(request).config.faults.seed)
        request.app.state.download_dice = dice
    return dice


# ---- ranges ------------------------------------------------------------------------------------
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


async def _stream(
    state: EmulatorState, file_id: str, start: int, end: int, cut_at: int | None
) -> AsyncIterator[bytes]:
    """The bytes ``start..end`` in 64 KiB pieces; with ``cut_at``, the connection dies there."""
    position = start
    for piece in content.iter_bytes(file_id, start, end):
        if cut_at is not None and position + len(piece) > cut_at:
            piece = piece[: cut_at - position]
            if piece:
                state.counters["download bytes"] += len(piece)
                yield piece
            raise InjectedFault("download cut on purpose")
        state.counters["download bytes"] += len(piece)
        position += len(piece)
        yield piece


# ---- routes ------------------------------------------------------------------------------------
@router.api_route("/rec/download/{file_id}", methods=["GET", "HEAD"], name="download_recording")
async def download_recording(request: Request, file_id: str) -> Response:
    """A file's ``download_url``: check the bearer token, then 302 to a signed file address."""
    state = state_of(request)
    file = await _may_download(request, state, file_id)
    faults = state.config.faults
    if faults.html_download_rate and _dice(request).random() < faults.html_download_rate:
        state.counters["fault html download"] += 1
        return HTMLResponse(SIGN_IN_PAGE)
    sig = sign(_signing_key(request), file.id)
    location = str(request.url_for("recording_file", file_id=file.id).include_query_params(sig=sig))
    return RedirectResponse(location, status_code=302)


@router.api_route("/rec/files/{file_id}", methods=["GET", "HEAD"], name="recording_file")
async def recording_file(request: Request, file_id: str, sig: str = Query("")) -> Response:
    """The file's bytes behind a signed address (no Authorization, like Zoom's CDN)."""
    state = state_of(request)
    check_signature(_signing_key(request), file_id, sig)
    recording, file = find_file(state, file_id)
    size = file.file_size
    etag = f'"{file.id}-{size}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Type": file.content_type,
        "Last-Modified": format_datetime(recording.start_time, usegmt=True),
        "Content-Disposition": f'attachment; filename="{file.id}.{file.file_extension.lower()}"',
        "Cache-Control": "private, max-age=0",
    }
    if_range = request.headers.get("if-range")
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        if if_range is None or if_range == etag:
            headers["Content-Range"] = f"bytes */{size}"
            headers["Content-Length"] = "0"
            return Response(status_code=416, headers=headers)
        wanted = None
    if wanted is not None and if_range is not None and if_range != etag:
        wanted = None
    start, end = wanted or (0, size)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    state.counters["downloads"] += 1
    cut_at = None
    faults = state.config.faults
    if faults.cut_download_rate and _dice(request).random() < faults.cut_download_rate:
        state.counters["fault cut download"] += 1
        cut_at = start + (end - start) // 2
    return StreamingResponse(
        _stream(state, file.id, start, end, cut_at), status_code=status, headers=headers
    )
