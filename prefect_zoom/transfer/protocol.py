"""The download protocol for one recording file: range requests, resume, and answer checks.

How one file is downloaded (see ``docs/zoom-behaviour.md``, "Recording files and downloads"):

* **Already there**: when the target exists with the file's ``file_size`` (or exists at all when
  Zoom gives no size, as for CC and TIMELINE entries), nothing is requested: status ``skipped``.
  Only complete files ever reach the target (below), so an existing file is a finished one.
* **Streaming**: ``GET download_url`` with the connection's bearer token; Zoom answers ``302`` to a
  signed CDN address, which the client follows. The body goes to ``.<name>.partial`` next to the
  target through :mod:`prefect_zoom.transfer.files` (hashed, never through a link), so a 2 GiB
  file costs about one block of memory, and a cut keeps every byte received.
* **Resume**: a cut (``httpx.TransportError``, e.g. ``RemoteProtocolError``) or a 5xx that outlived
  the client's own retries is retried up to ``len(retry_delays)`` times. Each retry sends
  ``Range: bytes=<have>-``: a ``206`` whose ``Content-Range`` starts there is appended, a ``200``
  starts over (:func:`resume_offset`). A partial left by an earlier run is resumed the same way.
* **Answer checks**: the content type must suit the file type (:func:`acceptable_content_type`)
  and is never ``text/html`` (Zoom answers a failed download with ``200`` and a sign-in page,
  :func:`looks_like_html`); the size must equal ``file_size`` when Zoom gives one
  (:func:`announced_size`). On a mismatch the partial is deleted and :class:`ZoomDownloadError`
  is raised: nothing is left at the target.
* **Atomic landing**: the partial is closed and moved over the target with ``os.replace``, so
  the target is either absent or complete: a killed process leaves at most a partial.
* **Durability** (``TransferOptions(durable=True)``, or :func:`~prefect_zoom.transfer.make_durable`
  later): the file and its folder are ``fsync``-ed, so the file survives a power cut too. It is
  off by default because the source stays in Zoom: after a power cut a file the disk did not keep
  is missing or short, and the size check above downloads it again (Linux file systems -- ext4,
  XFS, btrfs -- record a file's size only once its bytes are on disk). Turn it on before deleting
  the recording in Zoom: the archive flows do so before they move anything to Zoom's trash.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn

import httpx
from pydantic import BaseModel

from prefect_zoom.exceptions import ZoomDownloadError, ZoomInputError, ZoomServerError
from prefect_zoom.models.recordings import CONTENT_TYPES, RecordingFile
from prefect_zoom.transfer.files import (
    CHUNK_SIZE,
    BlockWriter,
    LoggerLike,
    fsync_dir,
    logger,
    make_durable,
    open_partial,
    partial_path,
    partial_size,
    sha256_of,
)

if TYPE_CHECKING:
    from prefect_zoom.client import ZoomClient

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.0, 1.0, 4.0, 10.0)
"""Seconds to wait before each resume; a cut is resumed at once, repeated failures back off."""
DOWNLOAD_OPERATION = "download_recording_file"

DownloadStatus = Literal["downloaded", "resumed", "skipped"]

_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html)", re.IGNORECASE)
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TransferOptions:
    """How files are fetched and landed; one value passed down from the caller to each file."""

    chunk_size: int = CHUNK_SIZE
    """Bytes hashed and written at a time."""
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    """Seconds to wait before each resume; its length is the number of resumes."""
    durable: bool = False
    """``fsync`` each file before it lands and its folder after (see the module's notes)."""
    sync_folder: bool = True
    """With ``durable``: sync the folder after each file (``False``: the caller syncs it once)."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    """How to wait between resumes (tests pass a recorder)."""

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ZoomInputError(
                "chunk_size", f"must be at least 1, got {self.chunk_size}", "Use 1 or more bytes."
            )
        delays = tuple(float(delay) for delay in self.retry_delays)
        if any(delay < 0 for delay in delays):
            raise ZoomInputError(
                "retry_delays", f"holds a negative delay: {delays}", "Use 0 or more seconds."
            )
        object.__setattr__(self, "retry_delays", delays)  # a list becomes a tuple: hashable


class DownloadResult(BaseModel):
    """What one download did and where the file is."""

    file_id: str | None
    meeting_uuid: str | None
    file_type: str
    path: str
    """Local path, or the fsspec URL / block path of a file system block."""
    size: int
    sha256: str | None
    """Hex SHA-256 of the bytes received; ``None`` when skipped (the file was not read)."""
    content_type: str | None
    status: DownloadStatus


class _Retryable(Exception):
    """An attempt failed in a way another attempt (resuming the partial) may fix."""


# ---- answer checks (no I/O) --------------------------------------------------------------------
def media_type(content_type: str | None) -> str | None:
    """``text/html; charset=utf-8`` → ``text/html``; ``None`` when absent."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def acceptable_content_type(file_type: str, content_type: str | None) -> bool:
    """True when a download of this file type may carry this content type.

    ``text/html`` never is. An absent content type is accepted (the size and the first bytes
    are still checked); an unknown file type accepts anything else.
    """
    kind = media_type(content_type)
    if kind is None:
        return True
    if kind in ("text/html", "application/xhtml+xml"):
        return False
    allowed = CONTENT_TYPES.get(file_type.upper())
    return allowed is None or kind in allowed


def resume_offset(status_code: int, content_range: str | None, have: int) -> int | None:
    """Where the answer's body starts in the file: ``have`` for a ``206`` whose ``Content-Range``
    starts there, 0 for any other answer (the server sends the whole file), ``None`` for a
    ``206`` that starts elsewhere or cannot be read (the partial must go)."""
    if status_code != 206:
        return 0
    match = _CONTENT_RANGE.match(content_range or "")
    if match is None or int(match.group(1)) != have:
        return None
    return have


def announced_size(start: int, content_length: str | None) -> int | None:
    """The file's size an answer announces (its start plus ``Content-Length``); ``None`` when
    it gives no usable length."""
    if content_length and content_length.isascii() and content_length.isdigit():
        return start + int(content_length)
    return None


def looks_like_html(first_bytes: bytes) -> bool:
    """True when a body starts like an HTML page (Zoom's answer to a failed download)."""
    return _HTML_START.match(first_bytes[:64]) is not None


def describe(file: RecordingFile) -> str:
    """``MP4 file <id>``: how logs and errors name a recording file."""
    return f"{file.file_type} file {file.id or file.recording_type or '?'}"


# ---- one file to a local path ------------------------------------------------------------------
def download_to_path(
    client: ZoomClient,
    file: RecordingFile,
    target: str | os.PathLike[str],
    *,
    meeting_uuid: str | None = None,
    options: TransferOptions = TransferOptions(),
    log: LoggerLike | None = None,
) -> DownloadResult:
    """Download one recording file to a local path: skip, stream, resume, verify, land.

    Raises :class:`ZoomDownloadError` when Zoom answers something that is not the file, the
    client's errors (404, missing scopes, …) as they come, and the last transient error once the
    retries are spent (the partial is kept, so the next run resumes it).
    """
    log = log or logger
    target = Path(target)
    meeting_uuid = meeting_uuid or file.meeting_id
    expected = file.file_size
    if target.is_file() and (expected is None or target.stat().st_size == expected):
        log.info("%s already at %s; skipped", describe(file), target)
        if options.durable:  # an earlier run may have landed it without forcing it to disk
            make_durable([target])
        return skipped(file, meeting_uuid, str(target), target.stat().st_size)
    partial = partial_path(target)  # its folder is made when the partial is opened
    digest, content_type, resumed = _FileDownload(client, file, partial, options, log).fetch()
    size = partial_size(partial, log)
    if expected is not None and size != expected:
        partial.unlink(missing_ok=True)
        raise ZoomDownloadError(
            f"{describe(file)}: received {size} bytes, Zoom lists {expected}",
            method="GET",
        )
    os.replace(partial, target)
    if options.durable and options.sync_folder:
        fsync_dir(target.parent)
    status: DownloadStatus = "resumed" if resumed else "downloaded"
    log.info("%s %s to %s (%d bytes)", describe(file), status, target, size)
    return DownloadResult(
        file_id=file.id,
        meeting_uuid=meeting_uuid,
        file_type=file.file_type,
        path=str(target),
        size=size,
        sha256=digest,
        content_type=content_type,
        status=status,
    )


def skipped(file: RecordingFile, meeting_uuid: str | None, path: str, size: int) -> DownloadResult:
    """The result for a file the destination already holds (nothing was read)."""
    return DownloadResult(
        file_id=file.id,
        meeting_uuid=meeting_uuid or file.meeting_id,
        file_type=file.file_type,
        path=path,
        size=size,
        sha256=None,
        content_type=None,
        status="skipped",
    )


@dataclass(frozen=True)
class _FileDownload:
    """One file's attempts: requests, checks and writes into its partial."""

    client: ZoomClient
    file: RecordingFile
    partial: Path
    options: TransferOptions
    log: LoggerLike

    def fetch(self) -> tuple[str, str | None, bool]:
        """Attempt until the partial holds the whole answer: (sha256 hex, content type, resumed)."""
        resumed = False
        failures = 0
        while True:
            try:
                digest, content_type, appended = self.attempt()
            except _Retryable as wrapped:
                error: BaseException = wrapped.__cause__ or wrapped
            else:
                return digest, content_type, resumed or appended
            have = partial_size(self.partial, self.log)
            if failures >= len(self.options.retry_delays):
                self.log.warning(
                    "%s: giving up after %d attempts (%s); %d bytes kept in %s for the next run",
                    describe(self.file),
                    failures + 1,
                    type(error).__name__,
                    have,
                    self.partial.name,
                )
                raise error
            delay = self.options.retry_delays[failures]
            failures += 1
            self.log.warning(
                "%s: attempt %d failed (%s) with %d bytes saved; resuming in %.1f s",
                describe(self.file),
                failures,
                type(error).__name__,
                have,
                delay,
            )
            if delay > 0:
                self.options.sleep(delay)

    def attempt(self) -> tuple[str, str | None, bool]:
        """One request: (sha256 hex, content type, whether it appended to a partial)."""
        partial, expected = self.partial, self.file.file_size
        have = partial_size(partial, self.log)
        if expected is not None and have > expected:
            partial.unlink()
            have = 0
        if expected is not None and have == expected and have > 0:
            # A complete partial from an earlier run (it stopped before landing): no request.
            if self.options.durable:
                make_durable([partial])
            return sha256_of(partial, self.options.chunk_size).hexdigest(), None, True
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            with self.client.stream(
                "GET", self.file.download_url, headers=headers, operation=DOWNLOAD_OPERATION
            ) as response:
                content_type = response.headers.get("content-type")
                start = self.check_answer(have, response)
                chunk_size = self.options.chunk_size
                digest = sha256_of(partial, chunk_size) if start else hashlib.sha256()
                self.receive(start, response, digest)
        except (httpx.TransportError, ZoomServerError) as error:
            raise _Retryable(str(error)) from error
        return digest.hexdigest(), media_type(content_type), bool(start)

    def check_answer(self, have: int, response: httpx.Response) -> int:
        """Where the answer's body starts, once its headers passed every check."""
        headers: Mapping[str, str] = response.headers
        content_type = headers.get("content-type")
        if not acceptable_content_type(self.file.file_type, content_type):
            self.reject(
                f"Zoom answered {media_type(content_type)} instead of the file "
                "(a failed download: Zoom sends a 200 HTML page)",
                response,
            )
        start = resume_offset(response.status_code, headers.get("content-range"), have)
        if start is None:
            self.partial.unlink(missing_ok=True)
            raise _Retryable("the server resumed at another offset; starting over")
        if have and not start:
            self.log.info("%s: the server ignored the range; starting over", describe(self.file))
        announced = announced_size(start, headers.get("content-length"))
        expected = self.file.file_size
        if expected is not None and announced is not None and announced != expected:
            self.reject(f"Zoom announced {announced} bytes, the listing says {expected}", response)
        return start

    def receive(self, start: int, response: httpx.Response, digest: hashlib._Hash) -> None:
        """Stream the body into the partial (appending from ``start``), checking it as it comes."""
        expected = self.file.file_size
        written = start
        keep = True  # False once the partial is rejected (closed and deleted)
        with open_partial(self.partial, append=bool(start)) as out:
            sink = BlockWriter(out, digest, self.options.chunk_size)
            try:
                for piece in response.iter_bytes():
                    if written == 0 and looks_like_html(piece):
                        keep = False
                        out.close()
                        self.reject("Zoom answered an HTML page", response)
                    sink.write(piece)
                    written += len(piece)
                    if expected is not None and written > expected:
                        keep = False
                        out.close()
                        self.reject(f"more than the listed {expected} bytes", response)
            finally:
                if keep:  # a cut keeps every byte received
                    sink.flush()
            if self.options.durable:
                os.fsync(out.fileno())

    def reject(self, problem: str, response: httpx.Response) -> NoReturn:
        """Delete the partial and raise :class:`ZoomDownloadError` naming the problem."""
        self.partial.unlink(missing_ok=True)
        raise ZoomDownloadError(
            f"{describe(self.file)}: {problem}",
            status=response.status_code,
            tracking_id=response.headers.get("x-zm-trackingid"),
            method="GET",
            path=response.request.url.path,
        )


__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "DownloadResult",
    "DownloadStatus",
    "TransferOptions",
    "acceptable_content_type",
    "announced_size",
    "download_to_path",
    "looks_like_html",
    "media_type",
    "resume_offset",
]
