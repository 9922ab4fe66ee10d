"""Emulator routes: recording downloads, the way Zoom serves them (the token, signature and range
rules in :mod:`zoom_emulator.models.downloads`).

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

import random
import secrets
from collections.abc import AsyncIterator
from email.utils import format_datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from zoom_emulator.faults import InjectedFault
from zoom_emulator.models import content, downloads
from zoom_emulator.models.access import owns_or_administers
from zoom_emulator.models.errors import zoom_error
from zoom_emulator.models.operations import operations
from zoom_emulator.models.state import (
    EmulatorState,
    RecordingFile,
)
from zoom_emulator.routes.auth import caller_for, state_of

router = APIRouter()

DOWNLOAD_OPERATION = operations()["download_recording_file"]
SIGN_IN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign In - Zoom</title></head>"
    b"<body><h1>Please sign in</h1><p>Sign in to Zoom to view or download this recording.</p>"
    b'<form action="/signin" method="post"><button type="submit">Sign In</button></form>'
    b"</body></html>\n"
)

_authenticate_api_token = caller_for(DOWNLOAD_OPERATION.name)


# ---- download tokens ---------------------------------------------------------------------------


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


# ---- files -------------------------------------------------------------------------------------


async def _may_download(request: Request, state: EmulatorState, file_id: str) -> RecordingFile:
    """Authenticate as Zoom does for a download URL; return the file."""
    download_token = downloads.download_token(state, _bearer(request))
    if download_token is not None:
        recording, file = downloads.find_file(state, file_id)
        downloads.check_download_token(download_token, recording)
        return file
    caller = await _authenticate_api_token(request)  # 401 / 124, 400 / 4711, 429
    recording, file = downloads.find_file(state, file_id)
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


def _dice(request: Request) -> random.Random:
    dice = getattr(request.app.state, "download_dice", None)
    if not isinstance(dice, random.Random):
        dice = random.Random(state_of(request).config.faults.seed)
        request.app.state.download_dice = dice
    return dice


# ---- ranges ------------------------------------------------------------------------------------


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
    sig = downloads.sign(_signing_key(request), file.id)
    location = str(request.url_for("recording_file", file_id=file.id).include_query_params(sig=sig))
    return RedirectResponse(location, status_code=302)


@router.api_route("/rec/files/{file_id}", methods=["GET", "HEAD"], name="recording_file")
async def recording_file(request: Request, file_id: str, sig: str = Query("")) -> Response:
    """The file's bytes behind a signed address (no Authorization, like Zoom's CDN)."""
    state = state_of(request)
    downloads.check_signature(_signing_key(request), file_id, sig)
    recording, file = downloads.find_file(state, file_id)
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
        wanted = downloads.parse_range(request.headers.get("range"), size)
    except downloads.RangeNotSatisfiable:
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
