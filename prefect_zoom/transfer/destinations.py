"""Where downloaded files go: one adapter per kind of destination.

* :class:`LocalFolder`: a folder path (``str`` or ``Path``), or a Prefect ``LocalFileSystem``
  block (its ``basepath``). Files land in place (:func:`~prefect_zoom.transfer.download_to_path`).
* :class:`FsspecStore`: a Prefect ``RemoteFileSystem`` block (any fsspec URL: ``s3://``,
  ``gs://``, ``memory://``, ``file://`` …). The file is staged in the private staging folder
  (:func:`~prefect_zoom.transfer.staging_root`), uploaded under a temporary name and moved into
  place (atomic where the store's ``mv`` is; on object stores the final object appears whole).
* :class:`BlockStore`: any other ``WritableFileSystem`` block. It gets the bytes through
  ``write_path``, which reads the **whole file into memory**: prefer a folder,
  ``LocalFileSystem`` or ``RemoteFileSystem`` for large recordings.

Prefect's blocks resolve a relative path with their private ``_resolve_path``; they have no public
method for it, so the adapters join the block's public ``basepath`` with a path that
:func:`check_relative_path` has made safe, as ``_resolve_path`` does for such paths.
"""

from __future__ import annotations

import inspect
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, TypeAlias

from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.models.recordings import RecordingFile
from prefect_zoom.transfer.files import LoggerLike, logger, sha256_of, staging_target
from prefect_zoom.transfer.protocol import (
    DownloadResult,
    TransferOptions,
    describe,
    download_to_path,
    skipped,
)

if TYPE_CHECKING:
    import fsspec
    from prefect.filesystems import RemoteFileSystem, WritableFileSystem

    from prefect_zoom.client import ZoomClient

Destination: TypeAlias = "str | os.PathLike[str] | WritableFileSystem"


# ---- paths -------------------------------------------------------------------------------------
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


def run_sync(value: Any) -> Any:
    """The value of a block method that may answer a coroutine (an async block): awaited here."""
    if inspect.iscoroutine(value):
        from prefect.utilities.asyncutils import run_coro_as_sync

        return run_coro_as_sync(value)
    return value


# ---- adapters ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileTransfer:
    """One recording file on its way to a destination: what to fetch, with which client, how."""

    client: ZoomClient
    file: RecordingFile
    relative_path: str
    """Where under the destination it goes (checked by :func:`check_relative_path`)."""
    meeting_uuid: str | None
    options: TransferOptions
    log: LoggerLike

    def to_path(self, target: Path) -> DownloadResult:
        """Download to a local path (skipped when it is there)."""
        return download_to_path(
            self.client,
            self.file,
            target,
            meeting_uuid=self.meeting_uuid,
            options=self.options,
            log=self.log,
        )

    def staged(self, key: str) -> tuple[Path, DownloadResult]:
        """Download to the private staging folder (a place stable per ``key``, so it resumes)."""
        staged = staging_target(key, PurePosixPath(self.relative_path).name)
        local = self.to_path(staged)
        if local.status == "skipped":  # staged by an earlier run whose upload failed
            local = local.model_copy(
                update={"sha256": sha256_of(staged).hexdigest(), "status": "resumed"}
            )
        return staged, local


class Store(ABC):
    """One kind of destination: lands a recording file under its relative path."""

    @abstractmethod
    def download(self, transfer: FileTransfer) -> DownloadResult:
        """Download the file unless the destination holds it already."""


class LocalFolder(Store):
    """A folder on this machine; ``confined`` refuses paths that links lead out of it (as a
    ``LocalFileSystem`` block does)."""

    def __init__(self, root: Path, *, confined: bool = False) -> None:
        self.root = root
        self.confined = confined

    def path(self, relative_path: str) -> Path:
        """Where ``relative_path`` lies on disk."""
        target = self.root / relative_path
        if self.confined and self.root not in target.resolve().parents:
            raise ZoomInputError(
                "destination",
                f"{relative_path!r} leads outside the block's basepath {self.root} (a link)",
                "Remove the link inside the basepath, or point the block at the real folder.",
            )
        return target

    def download(self, transfer: FileTransfer) -> DownloadResult:
        return transfer.to_path(self.path(transfer.relative_path))


class FsspecStore(Store):
    """A ``RemoteFileSystem`` block: stage locally, upload under a temporary name, move."""

    def __init__(self, block: RemoteFileSystem) -> None:
        self.block = block

    @property
    def filesystem(self) -> fsspec.AbstractFileSystem:
        """The block's fsspec file system."""
        return self.block.filesystem

    def root(self) -> str:
        """The basepath as the store's own listings spell it (``memory://x/`` → ``/x``).

        fsspec has no public method for it: this is its ``_strip_protocol``, which every file
        system implements.
        """
        stripped: str = self.filesystem._strip_protocol(self.block.basepath)
        return stripped.rstrip("/")

    def url(self, relative_path: str) -> str:
        """The store's URL of a relative path (``<basepath>/<path>``)."""
        return f"{self.block.basepath.rstrip('/')}/{relative_path}"

    def download(self, transfer: FileTransfer) -> DownloadResult:
        fs, file, log = self.filesystem, transfer.file, transfer.log
        remote = self.url(transfer.relative_path)
        if fs.exists(remote) and (file.file_size is None or fs.size(remote) == file.file_size):
            log.info("%s already at %s; skipped", describe(file), remote)
            return skipped(file, transfer.meeting_uuid, remote, int(fs.size(remote)))
        staged, local = transfer.staged(remote)
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
        log.info("%s uploaded to %s", describe(file), remote)
        return local.model_copy(update={"path": remote})


class BlockStore(Store):
    """Any other ``WritableFileSystem`` block: stage locally, then ``write_path`` (in memory)."""

    def __init__(self, block: WritableFileSystem) -> None:
        self.block = block

    def download(self, transfer: FileTransfer) -> DownloadResult:
        relative_path = transfer.relative_path
        staged, local = transfer.staged(
            f"{type(self.block).__name__}:{id(self.block)}:{relative_path}"
        )
        written = run_sync(self.block.write_path(relative_path, staged.read_bytes()))
        shutil.rmtree(staged.parent, ignore_errors=True)
        return local.model_copy(update={"path": str(written or relative_path)})


def store_for(destination: Destination | Store) -> Store:
    """The adapter for a destination: a folder path or a Prefect ``WritableFileSystem`` block
    (an adapter is returned as it is)."""
    if isinstance(destination, Store):
        return destination
    if isinstance(destination, (str, os.PathLike)):
        return LocalFolder(Path(destination).expanduser())
    from prefect.filesystems import LocalFileSystem, RemoteFileSystem, WritableFileSystem

    if isinstance(destination, LocalFileSystem):
        root = Path(destination.basepath or ".").expanduser().resolve()
        return LocalFolder(root, confined=True)
    if isinstance(destination, RemoteFileSystem):
        return FsspecStore(destination)
    if isinstance(destination, WritableFileSystem):
        return BlockStore(destination)
    raise ZoomInputError(
        "destination",
        f"expected a folder path or a Prefect WritableFileSystem block, got "
        f"{type(destination).__name__}",
        "Pass a folder, a LocalFileSystem or a RemoteFileSystem block.",
    )


def download_recording(
    client: ZoomClient,
    file: RecordingFile,
    destination: Destination | Store,
    relative_path: str,
    *,
    meeting_uuid: str | None = None,
    options: TransferOptions = TransferOptions(),
    log: LoggerLike | None = None,
) -> DownloadResult:
    """Download one file to ``<destination>/<relative_path>`` (a folder or a Prefect block).

    A remote store is durable once its upload returns.
    """
    relative_path = check_relative_path(relative_path)
    transfer = FileTransfer(client, file, relative_path, meeting_uuid, options, log or logger)
    return store_for(destination).download(transfer)


__all__ = [
    "BlockStore",
    "Destination",
    "FileTransfer",
    "FsspecStore",
    "LocalFolder",
    "Store",
    "beside",
    "check_relative_path",
    "download_recording",
    "store_for",
]
