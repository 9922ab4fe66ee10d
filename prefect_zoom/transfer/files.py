"""Durable local file I/O for downloads: partials opened without following links, block-sized
hashing writes, ``fsync`` on request, and the private staging folder for remote destinations.

No network here: :mod:`prefect_zoom.transfer.protocol` decides what to write, this module writes
it safely.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeAlias

from prefect_zoom.exceptions import UnsafePartialError

logger = logging.getLogger("prefect_zoom.transfer")

LoggerLike: TypeAlias = "logging.Logger | logging.LoggerAdapter[Any]"

CHUNK_SIZE = 1024 * 1024
"""Bytes read and written at a time (1 MiB)."""
DIRECT_PIECE = 128 * 1024
"""Pieces at least this big skip the block (the client reads up to 256 KiB at a time)."""
STAGING_DIR_NAME = "prefect-zoom-downloads"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


# ---- partial downloads -------------------------------------------------------------------------
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


class RawFile:
    """An open file written with ``os.write``: what :class:`BlockWriter` needs and no more (a
    file object would ``fstat`` the descriptor once more when made)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def write(self, data: bytes | memoryview) -> int:
        """Write some of ``data``; how many bytes were written."""
        return os.write(self._fd, data)

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> RawFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_partial(partial: Path, append: bool) -> RawFile:
    """Open a partial for writing without following links; check it before changing a byte.

    A new partial is created exclusively (``O_EXCL``: a file made by this call, nothing to
    check); one already there is checked with ``fstat`` before it is emptied or appended to. A
    missing folder is made.
    """
    flags = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _BINARY
    if not append:
        try:
            return RawFile(_open_creating_folder(partial, flags | os.O_EXCL))
        except FileExistsError:
            pass  # a partial (or a link planted under its name): checked below
    fd = _open_creating_folder(partial, flags)
    try:
        if not _own_plain_file(os.fstat(fd)):
            raise _unsafe(partial)
        if append:
            os.lseek(fd, 0, os.SEEK_END)
        else:
            os.ftruncate(fd, 0)
        return RawFile(fd)
    except BaseException:
        os.close(fd)
        raise


def _open_creating_folder(path: Path, flags: int) -> int:
    """``os.open`` (mode 0600), making the folder first when it is missing."""
    try:
        return os.open(path, flags, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o600)


@contextlib.contextmanager
def atomic_file(target: Path, mode: str = "wb", **open_args: Any) -> Iterator[IO[Any]]:
    """Write ``target`` atomically: a temporary file beside it, forced to disk, then renamed over
    it, so ``target`` is never seen half-written (and the temporary file goes on failure)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, mode, **open_args) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def sha256_of(path: Path, chunk_size: int = CHUNK_SIZE) -> hashlib._Hash:
    """A SHA-256 object fed with a file's bytes (read in chunks; a link is not followed)."""
    digest = hashlib.sha256()
    with os.fdopen(os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY), "rb") as source:
        while piece := source.read(chunk_size):
            digest.update(piece)
    return digest


# ---- durability --------------------------------------------------------------------------------
def make_durable(paths: Iterable[str | os.PathLike[str]]) -> None:
    """Force files, and the renames that landed them, to disk (``fsync`` each file and folder).

    Call it before the only other copy goes away (e.g. before trashing the recording in Zoom).
    Missing paths are skipped.
    """
    folders = {path.parent for path in map(Path, paths) if _fsync(path, folder=False)}
    for folder in folders:
        fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    _fsync(folder, folder=True)


def _fsync(path: Path, *, folder: bool) -> bool:
    """``fsync`` a file (``False`` when it is missing) or a folder (errors ignored: some systems
    cannot open or sync folders)."""
    cannot_open: type[OSError] = OSError if folder else FileNotFoundError
    try:
        fd = os.open(path, os.O_RDONLY)
    except cannot_open:
        return False
    try:
        os.fsync(fd)
    except OSError:
        if not folder:
            raise
    finally:
        os.close(fd)
    return True


class BlockWriter:
    """Gathers network-sized pieces into one reused block; hashes and writes it when full.

    Hashing and writing whole blocks makes fewer C calls that release the GIL (which the download
    threads would otherwise hand to each other for every small piece). Each thread reuses its
    block from file to file, so its pages are touched once. Pieces of ``DIRECT_PIECE`` or more
    (most of a large file: the client reads 256 KiB at a time) are hashed and written as they
    are, saving a copy.
    """

    _blocks = threading.local()

    def __init__(self, out: BinaryIO | RawFile, digest: hashlib._Hash, size: int) -> None:
        self.out = out
        self.digest = digest
        block: memoryview | None = getattr(self._blocks, "block", None)
        if block is None or len(block) != size:
            block = self._blocks.block = memoryview(bytearray(size))
        self._block = block
        self._filled = 0
        self._direct = min(DIRECT_PIECE, size)  # a piece the block cannot hold goes as it is too

    def write(self, piece: bytes) -> None:
        """Add a piece: hashed and written now when big, else when the block is full."""
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


# ---- staging for remote destinations -----------------------------------------------------------
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


def staging_target(key: str, name: str) -> Path:
    """A place in the private staging folder for a file bound for a remote store; stable per
    key, so it resumes."""
    digest = hashlib.sha1(key.encode()).hexdigest()
    return staging_root() / digest / name
