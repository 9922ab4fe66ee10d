"""The archive's manifest: which recording files already landed, verified, in a destination.

It lives in the destination itself (``zoom-archive-manifest.json``), so whoever reruns the archive,
from whichever machine, sees what is there. It is rewritten atomically as files land (every 5 seconds
in the archive flows, less often once saving it takes longer), one JSON line per file.

An entry is trusted only while the destination still holds its file with the recorded size (a
local file, a ``RemoteFileSystem`` object, or an S3 bucket block's object). A verified file is never replaced: a different copy
(another size under the same path) is planned beside it (:meth:`Manifest.plan`). A manifest that
cannot be read is set aside (renamed ``zoom-archive-manifest.json.corrupt-<UTC time>``, with a
warning) and rebuilt from the files in the destination.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from filelock import FileLock
from pydantic import BaseModel, Field, field_validator

from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.models.recordings import RecordingMeeting
from prefect_zoom.tasks._common import run_logger
from prefect_zoom.transfer import (
    Destination,
    DownloadJob,
    DownloadResult,
    beside,
    check_relative_path,
)
from prefect_zoom.transfer.destinations import (
    FsspecStore,
    LocalFolder,
    UploadStore,
    is_missing_object,
    run_sync,
    store_for,
)
from prefect_zoom.transfer.files import atomic_file

MANIFEST_NAME = "zoom-archive-manifest.json"
CORRUPT_SUFFIX = ".corrupt-"


class ManifestEntry(BaseModel):
    """One archived file."""

    path: str = Field(description="Path relative to the destination.")
    file_id: str | None
    meeting_uuid: str
    meeting_id: int
    topic: str | None = None
    file_type: str
    size: int
    sha256: str | None
    archived_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    trashed_in_zoom: bool = False

    @field_validator("path")
    @classmethod
    def _inside(cls, path: str) -> str:
        try:
            return check_relative_path(path)
        except ZoomInputError as error:
            raise ValueError(str(error)) from None

    @classmethod
    def found(cls, path: str, size: int) -> ManifestEntry:
        """The entry of a file found in the destination while rebuilding a manifest.

        Only complete files ever land under their final name, so a file there is one that was
        verified; what its name tells (``<date>_<meeting id>_<digest>/<start>_<type>_<id>.<ext>``)
        is kept, and its SHA-256 is left unknown (``None``).
        """
        folder, name = PurePosixPath(path).parent.name, PurePosixPath(path).name
        meeting = folder.split("_")[1] if folder.count("_") >= 2 else ""
        stem, _, extension = name.partition(".")
        return cls(
            path=path,
            file_id=stem.rsplit("_", 1)[-1] if "_" in stem else None,
            meeting_uuid="",
            meeting_id=int(meeting) if meeting.isdigit() else 0,
            file_type=extension.split(".")[-1].upper() or "?",
            size=size,
            sha256=None,
        )

    @classmethod
    def for_download(
        cls, job: DownloadJob, meeting: RecordingMeeting, result: DownloadResult
    ) -> ManifestEntry:
        """The entry of a file that just landed."""
        return cls(
            path=job.relative_path,
            file_id=job.file.id,
            meeting_uuid=meeting.uuid,
            meeting_id=meeting.id,
            topic=meeting.topic,
            file_type=job.file.file_type,
            size=result.size,
            sha256=result.sha256,
        )


@dataclass
class ArchivePlan:
    """What a run does with each file: download it, or count it as already archived."""

    to_download: list[DownloadJob] = field(default_factory=list)
    archived: list[DownloadJob] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)
    """Path of a different copy → path of the verified file it would have replaced."""

    @property
    def jobs(self) -> list[DownloadJob]:
        """Every file, at the path it has (or will have) in the destination."""
        return [*self.archived, *self.to_download]


class Manifest:
    """What a destination holds; load it, add entries as files land, save after each change."""

    def __init__(
        self,
        destination: Destination,
        entries: dict[str, ManifestEntry],
        name: str = MANIFEST_NAME,
    ) -> None:
        self.destination = destination
        self.name = name
        """The file in the destination (another name for a partition's own manifest)."""
        self.store = store_for(destination)
        self.entries = entries
        self._seen: tuple[int, int, int] | None = None  # the local file as last read or written
        self._stored: bytes | None = None  # what the destination held when last read or written

    @classmethod
    def load(cls, destination: Destination, name: str = MANIFEST_NAME) -> Manifest:
        manifest = cls(destination, {}, name)
        manifest.entries = manifest._stored_entries()
        return manifest

    def _stored_entries(self) -> dict[str, ManifestEntry]:
        # Stamp first: a file replaced between the stamp and the read only costs one more merge
        # (stamping after the read could mark a newer file as seen, and drop its entries).
        self._seen = self._stamp()
        raw = self._stored = self.read_file(self.destination, self.name)
        if not raw:
            return {}
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
                raise ValueError("expected an object with a list of files")
            entries = [ManifestEntry.model_validate(item) for item in data.get("files", [])]
        except ValueError as error:  # bad JSON, or entries that do not validate
            return self._rebuild(raw, error)
        return {entry.path: entry for entry in entries}

    def _rebuild(self, raw: bytes, error: ValueError) -> dict[str, ManifestEntry]:
        """Set an unreadable manifest aside and rebuild the entries from the destination."""
        aside = f"{self.name}{CORRUPT_SUFFIX}{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        self._set_aside(raw, aside)
        entries = {entry.path: entry for entry in self._scan()}
        reason = str(error).splitlines()[0][:200]
        run_logger().warning(
            "The archive's manifest could not be read (%s: %s): set aside as %s and rebuilt from "
            "the %d files found in the destination. Files not found there are downloaded again.",
            type(error).__name__,
            reason,
            aside,
            len(entries),
        )
        self._seen = self._stored = None  # the next save writes the rebuilt manifest
        return entries

    def _set_aside(self, raw: bytes, aside: str) -> None:
        root, remote = self._local_root(), self._remote_block()
        with contextlib.suppress(FileNotFoundError):  # another run set it aside first
            if root is not None:
                os.replace(root / self.name, root / aside)
            elif remote is not None:
                remote.filesystem.mv(remote.url(self.name), remote.url(aside))
            else:
                run_sync(self.destination.write_path(aside, raw))  # type: ignore[union-attr]

    def _scan(self) -> list[ManifestEntry]:
        """Entries for the files the destination holds (hidden files and old manifests left out)."""
        found: dict[str, int] = {}
        root, remote = self._local_root(), self._remote_block()
        if root is not None:
            for folder, _, names in os.walk(root):
                for name in names:
                    info = os.lstat(Path(folder) / name)
                    if stat.S_ISREG(info.st_mode):
                        found[(Path(folder) / name).relative_to(root).as_posix()] = info.st_size
        elif remote is not None:
            fs = remote.filesystem
            base = remote.root()
            for path, info in fs.find(base, detail=True).items():
                if info.get("type", "file") == "file" and path.startswith(f"{base}/"):
                    found[path[len(base) + 1 :]] = int(info.get("size") or 0)
        entries = []
        for path, size in sorted(found.items()):
            name = PurePosixPath(path).name
            if name.startswith(".") or name.startswith(MANIFEST_NAME):
                continue
            try:
                entries.append(ManifestEntry.found(path, size))
            except ValueError:  # a name that is no archive path: leave it out
                continue
        return entries

    def _stamp(self) -> tuple[int, int, int] | None:
        """The local manifest file's inode, size and modification time; ``None`` elsewhere."""
        if not isinstance(self.destination, (str, os.PathLike)):
            return None
        try:
            stat = (Path(self.destination).expanduser() / self.name).stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_size, stat.st_mtime_ns

    def has(self, path: str, size: int | None) -> bool:
        """True when ``path`` was archived (with this size, when Zoom gives one).

        In a local folder the file must also still be there with that size, so a file removed
        since (or one a power cut kept short) is downloaded again.
        """
        entry = self.entries.get(path)
        if entry is None or (size is not None and entry.size != size):
            return False
        return self.holds(entry)

    def holds(self, entry: ManifestEntry) -> bool:
        """True when the destination still has the entry's file with its size.

        A local file is checked on disk, a ``RemoteFileSystem`` object with the store's
        ``info``, an S3 bucket block's object with ``head_object``
        (:class:`~prefect_zoom.transfer.destinations.UploadStore`); other blocks cannot be asked
        cheaply, so their entries are trusted.
        """
        on_disk = self.local_path(entry.path)
        if on_disk is not None:
            return on_disk.is_file() and on_disk.stat().st_size == entry.size
        if isinstance(self.store, UploadStore):
            return self.store.holds(entry.path, entry.size)
        remote = self._remote_block()
        if remote is None:
            return True
        try:
            info = remote.filesystem.info(remote.url(entry.path))
        except (FileNotFoundError, OSError, ValueError):
            return False
        return info.get("type", "file") == "file" and info.get("size") == entry.size

    def plan(self, jobs: list[DownloadJob]) -> ArchivePlan:
        """Split ``jobs`` into files already archived and files to download.

        A job whose path holds a verified file of another size (Zoom lists the same ids with
        another size) is never allowed to replace it: it is planned at ``<name>.conflict-<size>``
        beside it, and :attr:`ArchivePlan.conflicts` says so. (When the destination no longer
        has that file, there is nothing to protect: the job keeps its path.)
        """
        plan = ArchivePlan()
        for job in jobs:
            size = job.file.file_size
            kept = self.entries.get(job.relative_path)
            if kept is not None and size is not None and kept.size != size and self.holds(kept):
                other = beside(job.relative_path, f"conflict-{size}")
                plan.conflicts[other] = job.relative_path
                job = DownloadJob(job.file, other, job.meeting_uuid)
            if self.has(job.relative_path, size):
                plan.archived.append(job)
            else:
                plan.to_download.append(job)
        return plan

    def local_path(self, path: str) -> Path | None:
        """Where ``path`` lies on this machine's disk; ``None`` for remote stores."""
        root = self._local_root()
        return None if root is None else root / path

    def _local_root(self) -> Path | None:
        return self.store.root if isinstance(self.store, LocalFolder) else None

    def _remote_block(self) -> FsspecStore | None:
        """The destination's adapter when it is a ``RemoteFileSystem`` (an fsspec store)."""
        return self.store if isinstance(self.store, FsspecStore) else None

    def add(self, entry: ManifestEntry) -> None:
        self.entries[entry.path] = entry

    def absorb(self, other: Manifest) -> None:
        """Take in another manifest's entries (a partition's): a path this one lacks, or archived
        later there, takes the other's entry; a file trashed in Zoom there is trashed here too."""
        for path, entry in other.entries.items():
            mine = self.entries.get(path)
            if mine is None or entry.archived_at > mine.archived_at:
                self.entries[path] = entry
            elif entry.trashed_in_zoom and entry.archived_at == mine.archived_at:
                mine.trashed_in_zoom = True

    def save(self) -> None:
        """Merge with what is stored (another run may have added files since) and write, unless
        the destination already holds exactly that (a rerun that archived nothing new writes
        nothing: no fsync on a disk, no upload to a bucket).

        For a local folder the read-merge-write runs under a file lock, so runs of the nightly and
        the event-triggered archive into one folder never drop each other's entries; the stored
        file is read again only when it changed (inode, size, mtime) since this manifest last read
        or wrote it.
        """
        with self._lock():
            if self._seen is None or self._stamp() != self._seen:  # changed since: merge
                self.entries = {**self._stored_entries(), **self.entries}
            lines = ",\n".join(entry.model_dump_json() for entry in self.entries.values())
            data = f'{{"files": [\n{lines}\n]}}\n'.encode()
            if data == self._stored:
                return
            self.write_file(self.destination, data, self.name)
            self._seen, self._stored = self._stamp(), data

    def _lock(self) -> AbstractContextManager[object]:
        if isinstance(self.destination, (str, os.PathLike)):
            folder = Path(self.destination).expanduser()
            folder.mkdir(parents=True, exist_ok=True)
            return FileLock(folder / f".{self.name}.lock")
        return nullcontext()

    # ---- storage -------------------------------------------------------------------------------
    @staticmethod
    def read_file(destination: Destination, name: str = MANIFEST_NAME) -> bytes | None:
        """The bytes of ``name`` (relative) in the destination; ``None`` when it is not there."""
        if isinstance(destination, (str, os.PathLike)):
            path = Path(destination).expanduser() / name
            return path.read_bytes() if path.exists() else None
        try:
            data: bytes = run_sync(destination.read_path(name))
        except (FileNotFoundError, ValueError, OSError):
            return None
        except Exception as error:  # an S3 bucket block's 404
            if is_missing_object(error):
                return None
            raise
        return data

    @staticmethod
    def write_file(destination: Destination, data: bytes, name: str = MANIFEST_NAME) -> None:
        """Write ``name`` (relative) in the destination atomically: a temporary file beside it,
        forced to disk, then renamed (a block's ``write_path`` for other destinations)."""
        if isinstance(destination, (str, os.PathLike)):
            with atomic_file(Path(destination).expanduser() / name) as out:
                out.write(data)
            return
        run_sync(destination.write_path(name, data))
