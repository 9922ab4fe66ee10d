"""Where downloaded files go: one adapter per kind of destination.

* :class:`LocalFolder`: a folder path (``str`` or ``Path``), or a Prefect ``LocalFileSystem``
  block (its ``basepath``). Files land in place (:func:`~prefect_zoom.transfer.download_to_path`).
* :class:`FsspecStore`: a Prefect ``RemoteFileSystem`` block (any fsspec URL: ``s3://``,
  ``gs://``, ``memory://``, ``file://`` …). The file is staged in the private staging folder
  (:func:`~prefect_zoom.transfer.staging_root`), uploaded under a temporary name and moved into
  place (atomic where the store's ``mv`` is; on object stores the final object appears whole).
* :class:`UploadStore`: a storage block with ``upload_from_path`` (prefect-aws ``S3Bucket``,
  prefect-gcp ``GcsBucket``, prefect-azure's container), found by duck typing. The staged file is
  streamed by the block (boto3 uploads large files in parts), never read into memory; the
  object's size is checked after the upload where the block tells it (see the class).
* :class:`BlockStore`: any other ``WritableFileSystem`` block. It gets the bytes through
  ``write_path``, which takes the **whole file in memory**, so files above
  :data:`IN_MEMORY_LIMIT` are refused (use one of the blocks above).

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

IN_MEMORY_LIMIT = 64 * 1024 * 1024
"""The largest file handed to a block's ``write_path``, which takes the whole file as bytes."""


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


def is_missing_object(error: BaseException) -> bool:
    """True when a block's error says the object is not there: ``FileNotFoundError``, or an S3
    ``ClientError`` with code 404 / ``NoSuchKey`` (recognised without importing botocore)."""
    if isinstance(error, FileNotFoundError):
        return True
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code in ("404", "NoSuchKey", "NotFound")


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


class UploadStore(Store):
    """A block with ``upload_from_path(from_path, to_path)``: stage locally, let the block stream
    the staged file, then check the object's size.

    The object appears whole once its upload completes (S3's PUT or CompleteMultipartUpload), so
    a cut upload leaves nothing under the final name; boto3 aborts a failed multipart upload
    itself (a killed process leaves its parts, which a bucket lifecycle rule removes). The size is
    read back with ``head_object`` for blocks that are S3 buckets (``bucket_name`` and
    ``credentials.get_s3_client()``, as prefect-aws's ``S3Bucket``); the ETag is not compared, as
    a multipart upload's ETag is no MD5 of the file (boto3 sends a CRC checksum per part, which S3
    checks on receipt). Other blocks' objects cannot be asked cheaply: their uploads are trusted.
    """

    def __init__(self, block: WritableFileSystem) -> None:
        self.block = block

    @property
    def checks_sizes(self) -> bool:
        """True when the block is an S3 bucket whose objects' sizes can be read back."""
        credentials = getattr(self.block, "credentials", None)
        return bool(getattr(self.block, "bucket_name", None)) and callable(
            getattr(credentials, "get_s3_client", None)
        )

    def key(self, relative_path: str) -> str:
        """The object's key: the block's ``basepath`` (S3's ``bucket_folder``) joined with it, as
        ``S3Bucket.upload_from_path`` joins them."""
        basepath = str(getattr(self.block, "basepath", "") or "")
        return PurePosixPath(basepath, relative_path).as_posix() if basepath else relative_path

    def size(self, relative_path: str) -> int | None:
        """The stored object's size, ``None`` when there is none (only when :attr:`checks_sizes`)."""
        client = self.block.credentials.get_s3_client()  # type: ignore[attr-defined]
        try:
            head = client.head_object(Bucket=self.block.bucket_name, Key=self.key(relative_path))  # type: ignore[attr-defined]
        except Exception as error:
            if is_missing_object(error):
                return None
            raise
        return int(head["ContentLength"])

    def holds(self, relative_path: str, size: int | None) -> bool:
        """True when the object is there (with ``size`` when given); unchecked blocks: True."""
        if not self.checks_sizes:
            return True
        there = self.size(relative_path)
        return there is not None and (size is None or there == size)

    def download(self, transfer: FileTransfer) -> DownloadResult:
        file, log, relative_path = transfer.file, transfer.log, transfer.relative_path
        name = f"{type(self.block).__name__}:{getattr(self.block, 'bucket_name', '')}:"
        there = self.size(relative_path) if self.checks_sizes else None
        if there is not None and (file.file_size is None or there == file.file_size):
            log.info("%s already at %s; skipped", describe(file), self.key(relative_path))
            return skipped(file, transfer.meeting_uuid, relative_path, there)
        staged, local = transfer.staged(f"{name}{self.key(relative_path)}")
        uploaded = run_sync(self.block.upload_from_path(staged, relative_path))  # type: ignore[attr-defined]
        if self.checks_sizes and not self.holds(relative_path, local.size):
            raise OSError(
                f"{relative_path}: the upload ended but the bucket does not hold "
                f"{local.size} bytes under {self.key(relative_path)!r}; the next run uploads it again"
            )
        shutil.rmtree(staged.parent, ignore_errors=True)
        log.info("%s uploaded to %s", describe(file), uploaded or relative_path)
        return local.model_copy(update={"path": relative_path})


class BlockStore(Store):
    """Any other ``WritableFileSystem`` block: stage locally, then ``write_path`` (in memory), for
    files up to :data:`IN_MEMORY_LIMIT`."""

    def __init__(self, block: WritableFileSystem) -> None:
        self.block = block

    def refuse(self, size: int) -> ZoomInputError:
        """The error for a file too large to hand over in memory."""
        return ZoomInputError(
            "destination",
            f"a {size:,}-byte file would go whole into memory through "
            f"{type(self.block).__name__}.write_path (the limit is {IN_MEMORY_LIMIT:,} bytes)",
            "Use a block with upload_from_path (prefect-aws S3Bucket, prefect-gcp GcsBucket, "
            "prefect-azure AzureBlobStorageContainer) or a RemoteFileSystem with the store's URL "
            "(s3://…, gs://…, az://…), which stream from disk.",
        )

    def download(self, transfer: FileTransfer) -> DownloadResult:
        relative_path, size = transfer.relative_path, transfer.file.file_size
        if size is not None and size > IN_MEMORY_LIMIT:
            raise self.refuse(size)  # before any request
        staged, local = transfer.staged(
            f"{type(self.block).__name__}:{id(self.block)}:{relative_path}"
        )
        if local.size > IN_MEMORY_LIMIT:  # Zoom gave no size: known once staged
            shutil.rmtree(staged.parent, ignore_errors=True)
            raise self.refuse(local.size)
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
        if callable(getattr(destination, "upload_from_path", None)):
            return UploadStore(destination)
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
    "IN_MEMORY_LIMIT",
    "BlockStore",
    "Destination",
    "FileTransfer",
    "FsspecStore",
    "LocalFolder",
    "Store",
    "UploadStore",
    "beside",
    "check_relative_path",
    "download_recording",
    "is_missing_object",
    "store_for",
]
