"""Streaming downloads of Zoom recording files: resume, verification, atomic landing.

A plain module (no tasks, no flows): the recording tasks call it, and so can any script.

How one file is downloaded (see ``docs/zoom-behaviour.md``, "Recording files and downloads"):

* **Already there**: when the target exists with the file's ``file_size`` (or exists at all when
  Zoom gives no size, as for CC and TIMELINE entries), nothing is requested: status ``skipped``.
  Only complete files ever reach the target (below), so an existing file is a finished one.
* **Streaming**: ``GET download_url`` with the connection's bearer token; Zoom answers ``302`` to a
  signed CDN address, which the client follows. The body is gathered into ``chunk_size`` (1 MiB)
  blocks (large pieces go as they are), each hashed (SHA-256) and appended to
  ``.<name>.partial`` next to the target, so a 2 GiB file costs about one block of memory, and a
  cut keeps every byte received. A partial is opened without following links (``O_NOFOLLOW``)
  and used only when it is a plain file of this user with no other hard link; anything else
  found under its name (e.g. a planted link to another file) is removed, never written through.
* **Resume**: a cut (``httpx.TransportError``, e.g. ``RemoteProtocolError``) or a 5xx that outlived
  the client's own retries is retried up to ``len(retry_delays)`` times. Each retry sends
  ``Range: bytes=<have>-``: a ``206`` whose ``Content-Range`` starts there is appended, a ``200``
  starts over. A partial left by an earlier run is resumed the same way.
* **Verification**: the content type must suit the file type (``CONTENT_TYPES``) and is never
  ``text/html`` (Zoom answers a failed download with ``200`` and a sign-in page); the size must
  equal ``file_size`` when Zoom gives one. On a mismatch the partial is deleted and
  :class:`ZoomDownloadError` is raised: nothing is left at the target.
* **Atomic landing**: the partial is closed and moved over the target with ``os.replace``, so
  the target is either absent or complete: a killed process leaves at most a partial.
* **Durability** (``durable=True``, or :func:`make_durable` later): the file and its folder are
  ``fsync``-ed, so the file survives a power cut too. It is off by default because the source
  stays in Zoom: after a power cut a file the disk did not keep is missing or short, and the size
  check above downloads it again (Linux file systems -- ext4, XFS, btrfs -- record a file's size
  only once its bytes are on disk). Turn it on, or call :func:`make_durable`, before deleting the
  recording in Zoom: the archive flows do so before they move anything to Zoom's trash. Forcing
  every file to disk as it lands makes the disk the limit.

Destinations: a local folder (``str`` or ``Path``) or a Prefect ``WritableFileSystem`` block.
``LocalFileSystem`` is used as a local folder (its ``basepath``). ``RemoteFileSystem`` (any fsspec
URL: ``s3://``, ``gs://``, ``memory://``, ``file://`` …) gets the file staged in a local temporary
folder, uploaded under a temporary name and moved into place (atomic where the store's ``mv`` is;
on object stores the final object appears whole). The staging folder is private to the user
(:func:`staging_root`: mode 0700, checked before every use). Any other ``WritableFileSystem``
gets the bytes through ``write_path``: that reads the **whole file into memory**, so prefer a folder,
``LocalFileSystem`` or ``RemoteFileSystem`` for large recordings.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TypeAlias

import httpx
from pydantic import BaseModel

from prefect_zoom.exceptions import (
    UnsafePartialError,
    ZoomDownloadError,
    ZoomInputError,
    ZoomServerError,
)
from prefect_zoom.models.recordings import CONTENT_TYPES, RecordingFile

if TYPE_CHECKING:
    from prefect.filesystems import WritableFileSystem

    from prefect_zoom.client import ZoomClient

logger = logging.getLogger("prefect_zoom.downloads")

CHUNK_SIZE = 1024 * 1024
"""Bytes read and written at a time (1 MiB)."""
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.0, 1.0, 4.0, 10.0)
"""Seconds to wait before each resume; a cut is resumed at once, repeated failures back off."""
DOWNLOAD_OPERATION = "download_recording_file"
STAGING_DIR_NAME = "prefect-zoom-downloads"

DownloadStatus = Literal["downloaded", "resumed", "skipped"]
Destination: TypeAlias = "str | os.PathLike[str] | WritableFileSystem"
LoggerLike: TypeAlias = "logging.Logger | logging.LoggerAdapter[Any]"

_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html)", re.IGNORECASE)
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


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


@dataclass(frozen=True)
class DownloadJob:
    """One file to download, and where under the destination it goes (a relative POSIX path)."""

    file: RecordingFile
    relative_path: str
    meeting_uuid: str | None = None


class _Retryable(Exception):
    """An attempt failed in a way another attempt (resuming the partial) may fix."""


# ---- helpers -----------------------------------------------------------------------------------
def partial_path(target: Path) -> Path:
    """Where a download lands before it is complete: ``.<name>.partial`` next to the target."""
    return target.with_name(f".{target.name}.partial")


def _own_plain_file(info: os.stat_result) -> bool:
    """A regular file of this user with no other hard link (so writing it touches nothing else)."""
    getuid = getattr(os, "getuid", None)
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_nlink == 1
        and (getuid is None or info.st_uid == getuid())
    )


def _unsafe(partial: Path) -> UnsafePartialError:
    return UnsafePartialError(
        "partial download",
        f"{partial} is not a plain file of this user (a link, a folder, another user's file or "
        "one with other hard links)",
        "Remove it, and keep the destination and staging folders writable by you alone.",
    )


def partial_size(partial: Path, log: LoggerLike | None = None) -> int:
    """Bytes of a partial download that may be resumed; 0 when there is none.

    A link (to anything), another user's file or a file with other hard links found under the
    partial's name is removed (the link itself, never what it points to) and counts as none;
    a folder there raises :class:`UnsafePartialError`.
    """
    try:
        info = os.lstat(partial)
    except FileNotFoundError:
        return 0
    if _own_plain_file(info):
        return info.st_size
    if stat.S_ISDIR(info.st_mode):
        raise _unsafe(partial)
    (log or logger).warning(
        "%s is not a plain file of this user (a link?): removed, the download starts over",
        partial,
    )
    partial.unlink(missing_ok=True)
    return 0


def _open_partial(partial: Path, append: bool) -> BinaryIO:
    """Open a partial for writing without following links; check it before changing a byte."""
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _BINARY, 0o600)
    try:
        if not _own_plain_file(os.fstat(fd)):
            raise _unsafe(partial)
        if append:
            os.lseek(fd, 0, os.SEEK_END)
        else:
            os.ftruncate(fd, 0)
        return os.fdopen(fd, "wb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


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


def sha256_of(path: Path, chunk_size: int = CHUNK_SIZE) -> hashlib._Hash:
    """A SHA-256 object fed with a file's bytes (read in chunks; a link is not followed)."""
    digest = hashlib.sha256()
    with os.fdopen(os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY), "rb") as source:
        while piece := source.read(chunk_size):
            digest.update(piece)
    return digest


def make_durable(paths: Iterable[str | os.PathLike[str]]) -> None:
    """Force files, and the renames that landed them, to disk (``fsync`` each file and folder).

    Call it before the only other copy goes away (e.g. before trashing the recording in Zoom).
    Missing paths are skipped.
    """
    folders = set()
    for path in map(Path, paths):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        folders.add(path.parent)
    for folder in folders:
        _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


DIRECT_PIECE = 128 * 1024
"""Pieces at least this big skip the block (the client reads up to 256 KiB at a time)."""


class _BlockWriter:
    """Gathers network-sized pieces into one reused block; hashes and writes it when full.

    Hashing and writing whole blocks makes fewer C calls that release the GIL (which the download
    threads would otherwise hand to each other for every small piece). Each thread reuses its
    block from file to file, so its pages are touched once. Pieces of ``DIRECT_PIECE`` or more
    (most of a large file: the client reads 256 KiB at a time) are hashed and written as they
    are, saving a copy.
    """

    _blocks = threading.local()

    def __init__(self, out: BinaryIO, digest: hashlib._Hash, size: int) -> None:
        self.out = out
        self.digest = digest
        block: memoryview | None = getattr(self._blocks, "block", None)
        if block is None or len(block) != size:
            block = self._blocks.block = memoryview(bytearray(size))
        self._block = block
        self._filled = 0
        self._direct = min(DIRECT_PIECE, size)  # a piece the block cannot hold goes as it is too

    def write(self, piece: bytes) -> None:
        if len(piece) >= self._direct:  # big enough to hash and write without a copy
            self.flush()
            self._emit(memoryview(piece))
            return
        if self._filled + len(piece) > len(self._block):
            self.flush()
        self._block[self._filled : self._filled + len(piece)] = piece
        self._filled += len(piece)

    def flush(self) -> None:
        """Hash and write what the block holds."""
        if self._filled:
            self._emit(self._block[: self._filled])
            self._filled = 0

    def _emit(self, data: memoryview) -> None:
        self.digest.update(data)
        while data:
            data = data[self.out.write(data) or 0 :]


class _InfoAsDebug(logging.LoggerAdapter[Any]):
    """Passes records on to its logger, INFO ones at DEBUG (warnings and errors as they are)."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        self.logger.log(logging.DEBUG if level == logging.INFO else level, msg, *args, **kwargs)


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, (httpx.TransportError, ZoomServerError))


def _describe(file: RecordingFile) -> str:
    return f"{file.file_type} file {file.id or file.recording_type or '?'}"


# ---- one file to a local path ------------------------------------------------------------------
def download_to_path(
    client: ZoomClient,
    file: RecordingFile,
    target: str | os.PathLike[str],
    *,
    meeting_uuid: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    log: LoggerLike | None = None,
    sleep: Callable[[float], None] = time.sleep,
    durable: bool = False,
    sync_folder: bool = True,
) -> DownloadResult:
    """Download one recording file to a local path: skip, stream, resume, verify, land.

    ``durable=True`` fsyncs the file before it lands and its folder after (see the module's
    notes); ``sync_folder=False`` then leaves the folder to the caller, who may sync it once for
    many files (:func:`download_many` does).

    Raises :class:`ZoomDownloadError` when Zoom answers something that is not the file, the
    client's errors (404, missing scopes, …) as they come, and the last transient error once the
    retries are spent (the partial is kept, so the next run resumes it).
    """
    log = log or logger
    target = Path(target)
    meeting_uuid = meeting_uuid or file.meeting_id
    expected = file.file_size
    if target.is_file() and (expected is None or target.stat().st_size == expected):
        log.info("%s already at %s; skipped", _describe(file), target)
        if durable:  # an earlier run may have landed it without forcing it to disk
            make_durable([target])
        return DownloadResult(
            file_id=file.id,
            meeting_uuid=meeting_uuid,
            file_type=file.file_type,
            path=str(target),
            size=target.stat().st_size,
            sha256=None,
            content_type=None,
            status="skipped",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(target)
    resumed = False
    failures = 0
    while True:
        try:
            digest, content_type, appended = _attempt(
                client, file, partial, chunk_size, log, durable
            )
        except _Retryable as wrapped:
            error: BaseException = wrapped.__cause__ or wrapped
        else:
            resumed = resumed or appended
            break
        have = partial_size(partial, log)
        if failures >= len(retry_delays):
            log.warning(
                "%s: giving up after %d attempts (%s); %d bytes kept in %s for the next run",
                _describe(file),
                failures + 1,
                type(error).__name__,
                have,
                partial.name,
            )
            raise error
        delay = retry_delays[failures]
        failures += 1
        log.warning(
            "%s: attempt %d failed (%s) with %d bytes saved; resuming in %.1f s",
            _describe(file),
            failures,
            type(error).__name__,
            have,
            delay,
        )
        if delay > 0:
            sleep(delay)
    size = partial_size(partial, log)
    if expected is not None and size != expected:
        partial.unlink(missing_ok=True)
        raise ZoomDownloadError(
            f"{_describe(file)}: received {size} bytes, Zoom lists {expected}",
            method="GET",
        )
    os.replace(partial, target)
    if durable and sync_folder:
        _fsync_dir(target.parent)
    status: DownloadStatus = "resumed" if resumed else "downloaded"
    log.info("%s %s to %s (%d bytes)", _describe(file), status, target, size)
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


def _reject(partial: Path, file: RecordingFile, problem: str, response: httpx.Response) -> None:
    partial.unlink(missing_ok=True)
    raise ZoomDownloadError(
        f"{_describe(file)}: {problem}",
        status=response.status_code,
        tracking_id=response.headers.get("x-zm-trackingid"),
        method="GET",
        path=response.request.url.path,
    )


def _attempt(
    client: ZoomClient,
    file: RecordingFile,
    partial: Path,
    chunk_size: int,
    log: LoggerLike,
    durable: bool,
) -> tuple[str, str | None, bool]:
    """One request: returns (sha256 hex, content type, whether it appended to a partial)."""
    expected = file.file_size
    have = partial_size(partial, log)
    if expected is not None and have > expected:
        partial.unlink()
        have = 0
    if expected is not None and have == expected and have > 0:
        # A complete partial from an earlier run (it stopped before landing): no request.
        if durable:
            make_durable([partial])
        return sha256_of(partial, chunk_size).hexdigest(), None, True
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with client.stream(
            "GET", file.download_url, headers=headers, operation=DOWNLOAD_OPERATION
        ) as response:
            content_type = response.headers.get("content-type")
            if not acceptable_content_type(file.file_type, content_type):
                _reject(
                    partial,
                    file,
                    f"Zoom answered {media_type(content_type)} instead of the file "
                    "(a failed download: Zoom sends a 200 HTML page)",
                    response,
                )
            start = 0
            if response.status_code == 206:
                match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
                if match is None or int(match.group(1)) != have:
                    partial.unlink(missing_ok=True)
                    raise _Retryable("the server resumed at another offset; starting over")
                start = have
            elif have:
                log.info("%s: the server ignored the range; starting over", _describe(file))
            length = response.headers.get("content-length")
            announced = start + int(length) if length and length.isdigit() else None
            if expected is not None and announced is not None and announced != expected:
                _reject(
                    partial,
                    file,
                    f"Zoom announced {announced} bytes, the listing says {expected}",
                    response,
                )
            digest = sha256_of(partial, chunk_size) if start else hashlib.sha256()
            written = start
            keep = True  # False once the partial is rejected (closed and deleted)
            with _open_partial(partial, append=bool(start)) as out:
                sink = _BlockWriter(out, digest, chunk_size)
                try:
                    for piece in response.iter_bytes():
                        if written == 0 and _HTML_START.match(piece[:64]):
                            keep = False
                            out.close()
                            _reject(partial, file, "Zoom answered an HTML page", response)
                        sink.write(piece)
                        written += len(piece)
                        if expected is not None and written > expected:
                            keep = False
                            out.close()
                            _reject(
                                partial, file, f"more than the listed {expected} bytes", response
                            )
                finally:
                    if keep:  # a cut keeps every byte received
                        sink.flush()
                if durable:
                    os.fsync(out.fileno())
    except (httpx.TransportError, ZoomServerError) as error:
        raise _Retryable(str(error)) from error
    return digest.hexdigest(), media_type(content_type), bool(start)


# ---- destinations ------------------------------------------------------------------------------
def check_relative_path(relative_path: str) -> str:
    """A safe relative POSIX path or ZoomInputError: no absolute path, no ``..``, no drive letter
    (``C:/x``, ``C:x``) and no UNC path (``\\\\server\\share``)."""
    parts = PurePosixPath(relative_path.replace("\\", "/")).parts
    if (
        not parts
        or relative_path.startswith(("/", "\\"))
        or ".." in parts
        or PureWindowsPath(relative_path).drive  # C:/x, C:x, \\server\share
    ):
        raise ZoomInputError(
            "subfolder",
            f"{relative_path!r} is not a relative path inside the destination",
            "Use a relative folder name without '..', a drive letter or a leading slash.",
        )
    return "/".join(parts)


def beside(relative_path: str, tag: str) -> str:
    """``a/name.ext`` → ``a/name.<tag>.ext``: a place next to a file that must not be replaced."""
    path = PurePosixPath(relative_path)
    return str(path.with_name(f"{path.stem}.{tag}{path.suffix}"))


_staging_lock = threading.Lock()
_staging: Path | None = None


def _private_folder(path: Path) -> bool:
    """A real folder (not a link) of this user that nobody else may enter."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    return (
        stat.S_ISDIR(info.st_mode)
        and (getuid is None or info.st_uid == getuid())
        and (os.name == "nt" or info.st_mode & 0o077 == 0)
    )


def staging_root() -> Path:
    """This user's private staging folder for files bound for a file system block.

    ``<tmp>/prefect-zoom-downloads-<uid>``, made with mode 0700 and checked at every call (a
    folder of this user, not a link, closed to group and others), so a cut upload resumes in the
    next run. When that name is taken by anything else (someone planted it), a new folder made by
    ``tempfile.mkdtemp`` (0700) is used instead, with a warning: safe, but without resuming.
    """
    global _staging
    with _staging_lock:
        if _staging is not None and _private_folder(_staging):
            return _staging
        user = getattr(os, "getuid", lambda: os.getpid())()
        stable = Path(tempfile.gettempdir()) / f"{STAGING_DIR_NAME}-{user}"
        with contextlib.suppress(FileExistsError):
            stable.mkdir(mode=0o700)
        if _private_folder(stable):
            _staging = stable
        else:
            _staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_DIR_NAME}-"))
            logger.warning(
                "%s is not a private folder of this user: staging in %s instead (cut uploads "
                "will not resume across runs). Remove %s to fix this.",
                stable,
                _staging,
                stable,
            )
        return _staging


def _staging_target(key: str, name: str) -> Path:
    """A place in the private staging folder for a file bound for a remote store; stable per
    key, so it resumes."""
    digest = hashlib.sha1(key.encode()).hexdigest()
    return staging_root() / digest / name


def download_recording(
    client: ZoomClient,
    file: RecordingFile,
    destination: Destination,
    relative_path: str,
    *,
    meeting_uuid: str | None = None,
    log: LoggerLike | None = None,
    **options: Any,
) -> DownloadResult:
    """Download one file to ``<destination>/<relative_path>`` (a folder or a Prefect block).

    ``options`` go to :func:`download_to_path` (``chunk_size``, ``retry_delays``, ``sleep``,
    ``durable``). A remote store is durable once its upload returns.
    """
    relative_path = check_relative_path(relative_path)
    if isinstance(destination, (str, os.PathLike)):
        target = Path(destination).expanduser() / relative_path
        return download_to_path(client, file, target, meeting_uuid=meeting_uuid, log=log, **options)
    from prefect.filesystems import LocalFileSystem, RemoteFileSystem, WritableFileSystem

    if isinstance(destination, LocalFileSystem):
        target = Path(destination._resolve_path(relative_path))
        return download_to_path(client, file, target, meeting_uuid=meeting_uuid, log=log, **options)
    if isinstance(destination, RemoteFileSystem):
        return _to_remote(client, file, destination, relative_path, meeting_uuid, log, options)
    if isinstance(destination, WritableFileSystem):
        return _to_block(client, file, destination, relative_path, meeting_uuid, log, options)
    raise ZoomInputError(
        "destination",
        f"expected a folder path or a Prefect WritableFileSystem block, got "
        f"{type(destination).__name__}",
        "Pass a folder, a LocalFileSystem or a RemoteFileSystem block.",
    )


def _to_remote(
    client: ZoomClient,
    file: RecordingFile,
    block: Any,
    relative_path: str,
    meeting_uuid: str | None,
    log: LoggerLike | None,
    options: dict[str, Any],
) -> DownloadResult:
    """Stage locally, upload under a temporary name, move into place."""
    log = log or logger
    fs = block.filesystem
    remote: str = block._resolve_path(relative_path)
    if fs.exists(remote) and (file.file_size is None or fs.size(remote) == file.file_size):
        log.info("%s already at %s; skipped", _describe(file), remote)
        return DownloadResult(
            file_id=file.id,
            meeting_uuid=meeting_uuid or file.meeting_id,
            file_type=file.file_type,
            path=remote,
            size=int(fs.size(remote)),
            sha256=None,
            content_type=None,
            status="skipped",
        )
    staged = _staging_target(remote, PurePosixPath(relative_path).name)
    local = download_to_path(client, file, staged, meeting_uuid=meeting_uuid, log=log, **options)
    if local.status == "skipped":  # staged by an earlier run whose upload failed
        local = local.model_copy(
            update={"sha256": sha256_of(staged).hexdigest(), "status": "resumed"}
        )
    parent, _, name = remote.rpartition("/")
    uploading = f"{parent}/.{name}.{uuid.uuid4().hex[:8]}.uploading"
    fs.makedirs(parent, exist_ok=True)
    try:
        fs.put_file(str(staged), uploading)
        fs.mv(uploading, remote)
    except BaseException:
        try:
            if fs.exists(uploading):
                fs.rm(uploading)
        except Exception:  # pragma: no cover - best effort cleanup
            pass
        raise
    shutil.rmtree(staged.parent, ignore_errors=True)
    log.info("%s uploaded to %s", _describe(file), remote)
    return local.model_copy(update={"path": remote})


def _to_block(
    client: ZoomClient,
    file: RecordingFile,
    block: Any,
    relative_path: str,
    meeting_uuid: str | None,
    log: LoggerLike | None,
    options: dict[str, Any],
) -> DownloadResult:
    """Stage locally, then hand the bytes to ``write_path`` (the whole file in memory)."""
    log = log or logger
    key = f"{type(block).__name__}:{id(block)}:{relative_path}"
    staged = _staging_target(key, PurePosixPath(relative_path).name)
    local = download_to_path(client, file, staged, meeting_uuid=meeting_uuid, log=log, **options)
    if local.status == "skipped":
        local = local.model_copy(
            update={"sha256": sha256_of(staged).hexdigest(), "status": "resumed"}
        )
    written = block.write_path(relative_path, staged.read_bytes())
    if inspect.iscoroutine(written):
        from prefect.utilities.asyncutils import run_coro_as_sync

        written = run_coro_as_sync(written)
    shutil.rmtree(staged.parent, ignore_errors=True)
    return local.model_copy(update={"path": str(written or relative_path)})


# ---- many files --------------------------------------------------------------------------------
def download_many(
    client: ZoomClient,
    jobs: Sequence[DownloadJob],
    destination: Destination,
    *,
    max_concurrency: int = 4,
    log: LoggerLike | None = None,
    log_each_file: bool = True,
    on_result: Callable[[DownloadJob, DownloadResult | None, BaseException | None], None]
    | None = None,
    **options: Any,
) -> list[DownloadResult]:
    """Download files on at most ``max_concurrency`` threads; results in the order of ``jobs``.

    Every file is attempted; if some fail, each failure is logged and the first one (in job
    order) is raised once the others are done, so a retry skips what already landed.
    ``on_result(job, result, error)`` is called as each file finishes (from the caller's thread),
    e.g. to record it in a manifest or move a progress bar. ``durable=True`` (in ``options``)
    fsyncs each file as it lands and each folder once at the end. ``log_each_file=False`` logs
    each file's "downloaded"/"skipped" line at DEBUG, for callers that report progress themselves
    (in a Prefect run, 500 such lines cost about 0.3 s); retries and failures stay warnings and
    errors.
    """
    if max_concurrency < 1:
        raise ZoomInputError(
            "max_concurrency", f"must be at least 1, got {max_concurrency}", "Use 1 or more."
        )
    log = log or logger
    if not jobs:
        return []
    file_log = log if log_each_file else _InfoAsDebug(log, None)

    def run(job: DownloadJob) -> DownloadResult:
        return download_recording(
            client,
            job.file,
            destination,
            job.relative_path,
            meeting_uuid=job.meeting_uuid,
            log=file_log,
            sync_folder=False,  # once per folder below, not once per file
            **options,
        )

    results: dict[int, DownloadResult] = {}
    errors: dict[int, BaseException] = {}
    workers = min(max_concurrency, len(jobs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoom-download") as pool:
        futures = {pool.submit(run, job): index for index, job in enumerate(jobs)}
        for future in as_completed(futures):
            index = futures[future]
            error = future.exception()
            if error is None:
                results[index] = future.result()
            else:
                errors[index] = error
                log.error("%s failed: %s", _describe(jobs[index].file), type(error).__name__)
            if on_result is not None:
                on_result(jobs[index], results.get(index), error)
    if options.get("durable"):
        for folder in {Path(r.path).parent for r in results.values() if r.status != "skipped"}:
            if folder.is_dir():  # local landings only; remote stores are durable on upload
                _fsync_dir(folder)
    if errors:
        raise errors[min(errors)]
    return [results[index] for index in range(len(jobs))]


__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_RETRY_DELAYS",
    "Destination",
    "DownloadJob",
    "DownloadResult",
    "UnsafePartialError",
    "ZoomDownloadError",
    "acceptable_content_type",
    "beside",
    "check_relative_path",
    "download_many",
    "download_recording",
    "download_to_path",
    "make_durable",
    "partial_path",
    "partial_size",
    "staging_root",
]
