"""The archive's manifest: which recording files already landed, verified, in a destination.

It lives in the destination itself (``zoom-archive-manifest.json``), so whoever reruns the archive,
from whichever machine, sees what is there. It is rewritten atomically as files land (at most once
a second in the archive flows), one JSON line per file.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import BaseModel, Field

from prefect_zoom.downloads import Destination, DownloadJob, DownloadResult
from prefect_zoom.models.recordings import RecordingMeeting

MANIFEST_NAME = "zoom-archive-manifest.json"


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


def _resolve(value: Any) -> Any:
    if inspect.iscoroutine(value):
        from prefect.utilities.asyncutils import run_coro_as_sync

        return run_coro_as_sync(value)
    return value


class Manifest:
    """What a destination holds; load it, add entries as files land, save after each change."""

    def __init__(self, destination: Destination, entries: dict[str, ManifestEntry]) -> None:
        self.destination = destination
        self.entries = entries
        self._seen: tuple[int, int, int] | None = None  # the local file as last read or written

    @classmethod
    def load(cls, destination: Destination) -> Manifest:
        manifest = cls(destination, {})
        manifest.entries = manifest._stored_entries()
        return manifest

    def _stored_entries(self) -> dict[str, ManifestEntry]:
        # Stamp first: a file replaced between the stamp and the read only costs one more merge
        # (stamping after the read could mark a newer file as seen, and drop its entries).
        self._seen = self._stamp()
        raw = self._read(self.destination)
        data = json.loads(raw) if raw else {"files": []}
        entries = [ManifestEntry.model_validate(item) for item in data.get("files", [])]
        return {entry.path: entry for entry in entries}

    def _stamp(self) -> tuple[int, int, int] | None:
        """The local manifest file's inode, size and modification time; ``None`` elsewhere."""
        if not isinstance(self.destination, (str, os.PathLike)):
            return None
        try:
            stat = (Path(self.destination).expanduser() / MANIFEST_NAME).stat()
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
        on_disk = self.local_path(path)
        if on_disk is not None:
            return on_disk.is_file() and on_disk.stat().st_size == entry.size
        return True

    def local_path(self, path: str) -> Path | None:
        """Where ``path`` lies on this machine's disk; ``None`` for remote stores."""
        if isinstance(self.destination, (str, os.PathLike)):
            return Path(self.destination).expanduser() / path
        from prefect.filesystems import LocalFileSystem

        if isinstance(self.destination, LocalFileSystem):
            return Path(self.destination._resolve_path(path))
        return None

    def add(self, entry: ManifestEntry) -> None:
        self.entries[entry.path] = entry

    def save(self) -> None:
        """Merge with what is stored (another run may have added files since) and write.

        For a local folder the read-merge-write runs under a file lock, so runs of the nightly and
        the event-triggered archive into one folder never drop each other's entries; the stored
        file is read again only when it changed (inode, size, mtime) since this manifest last read
        or wrote it.
        """
        with self._lock():
            if self._seen is None or self._stamp() != self._seen:  # changed since: merge
                self.entries = {**self._stored_entries(), **self.entries}
            lines = ",\n".join(entry.model_dump_json() for entry in self.entries.values())
            self._write(self.destination, f'{{"files": [\n{lines}\n]}}\n'.encode())
            self._seen = self._stamp()

    def _lock(self) -> AbstractContextManager[object]:
        if isinstance(self.destination, (str, os.PathLike)):
            folder = Path(self.destination).expanduser()
            folder.mkdir(parents=True, exist_ok=True)
            return FileLock(folder / f".{MANIFEST_NAME}.lock")
        return nullcontext()

    # ---- storage -------------------------------------------------------------------------------
    @staticmethod
    def _read(destination: Destination) -> bytes | None:
        if isinstance(destination, (str, os.PathLike)):
            path = Path(destination).expanduser() / MANIFEST_NAME
            return path.read_bytes() if path.exists() else None
        try:
            data: bytes = _resolve(destination.read_path(MANIFEST_NAME))
        except (FileNotFoundError, ValueError, OSError):
            return None
        return data

    @staticmethod
    def _write(destination: Destination, data: bytes) -> None:
        if isinstance(destination, (str, os.PathLike)):
            folder = Path(destination).expanduser()
            folder.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(prefix=f".{MANIFEST_NAME}.", dir=folder)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp_name, folder / MANIFEST_NAME)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise
            return
        _resolve(destination.write_path(MANIFEST_NAME, data))
