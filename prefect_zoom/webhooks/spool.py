"""The receiver's durable queue: every accepted delivery is on disk before Zoom gets its 200.

A :class:`Spool` is one SQLite database in WAL mode with ``synchronous=FULL``: a committed row
survives a killed process and a power cut. It holds the Prefect event of each delivery (already
scrubbed of secrets) until the delivery thread has handed it to Prefect, and the dedupe keys of
at least the last ``keep_done`` finished deliveries (at most 100 more), so duplicates are
recognised across restarts too.

One spool belongs to one receiver: a second process opening the same file gets
:class:`SpoolInUseError` (an exclusive lock file beside the database).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from prefect_zoom.exceptions import SpoolError, SpoolFullError, SpoolInUseError

DEFAULT_BUSY_TIMEOUT = 2.0
DEFAULT_KEEP_DONE = 10_000
MAX_ERROR_CHARS = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    received_at REAL NOT NULL,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS deliveries_by_state ON deliveries (state, seq);
CREATE TABLE IF NOT EXISTS delivery_keys (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL REFERENCES deliveries (seq) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS delivery_keys_by_seq ON delivery_keys (seq);
"""


@dataclass(frozen=True)
class SpooledEvent:
    """A delivery waiting for Prefect: its position, its Prefect event (JSON) and past tries."""

    seq: int
    event: str
    attempts: int


class Spool:
    """A durable FIFO of Prefect events with dedupe keys; safe to share between threads."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_pending: int = 10_000,
        keep_done: int = DEFAULT_KEEP_DONE,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        self.path = Path(path).expanduser().resolve()
        self.max_pending = max(1, max_pending)
        self.keep_done = max(1, keep_done)
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._file_lock = FileLock(f"{self.path}.lock")
            self._file_lock.acquire(timeout=0)
        except Timeout:
            raise SpoolInUseError(
                f"another receiver is using the spool {self.path}; give each receiver its own "
                "spool (prefect-zoom webhook serve --spool PATH)"
            ) from None
        except OSError as error:
            raise SpoolError(f"cannot create the spool {self.path}: {error}") from None
        try:
            # the events hold download tokens: only the owner may read them
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA secure_delete=ON")  # erased payloads are zeroed
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            self._file_lock.release()
            raise SpoolError(f"cannot open the spool {self.path}: {error}") from None

    @classmethod
    def temporary(cls, **options: int | float) -> Spool:
        """A spool in a new temporary folder, removed by :meth:`close` (not durable)."""
        folder = tempfile.TemporaryDirectory(prefix="prefect-zoom-spool-")
        spool = cls(Path(folder.name) / "spool.sqlite3", **options)  # type: ignore[arg-type]
        spool._temporary = folder
        return spool

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def add(self, keys: Iterable[str], event: str) -> bool:
        """Store ``event`` under ``keys`` durably; ``False`` (nothing stored) if a key is known.

        Raises :class:`SpoolFullError` when ``max_pending`` events wait already and
        :class:`SpoolError` when the database cannot be written.
        """
        keys = list(dict.fromkeys(keys))
        with self._lock, self._transaction():
            marks = ",".join("?" * len(keys))
            known = self._db.execute(
                f"SELECT 1 FROM delivery_keys WHERE key IN ({marks}) LIMIT 1", keys
            ).fetchone()
            if known:
                return False
            (pending,) = self._db.execute(
                "SELECT count(*) FROM deliveries WHERE state = 'pending'"
            ).fetchone()
            if pending >= self.max_pending:
                raise SpoolFullError(
                    f"{pending} events are waiting for Prefect in {self.path}; retry later"
                )
            cursor = self._db.execute(
                "INSERT INTO deliveries (event, received_at) VALUES (?, ?)", (event, time.time())
            )
            self._db.executemany(
                "INSERT INTO delivery_keys (key, seq) VALUES (?, ?)",
                [(key, cursor.lastrowid) for key in keys],
            )
            return True

    def pending(self, limit: int = 100) -> list[SpooledEvent]:
        """The oldest events that Prefect has not accepted yet, first in first out."""
        with self._lock, self._errors():
            rows = self._db.execute(
                "SELECT seq, event, attempts FROM deliveries WHERE state = 'pending' "
                "ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [SpooledEvent(seq, event, attempts) for seq, event, attempts in rows]

    def pending_count(self) -> int:
        with self._lock, self._errors():
            (count,) = self._db.execute(
                "SELECT count(*) FROM deliveries WHERE state = 'pending'"
            ).fetchone()
        return int(count)

    def last_error(self) -> str | None:
        """The error of the oldest pending event that failed at least once."""
        with self._lock, self._errors():
            row = self._db.execute(
                "SELECT last_error FROM deliveries WHERE state = 'pending' "
                "AND last_error IS NOT NULL ORDER BY seq LIMIT 1"
            ).fetchone()
        return None if row is None else str(row[0])

    def delivered(self, seq: int) -> None:
        """Prefect accepted the event: keep only its dedupe keys (and the latest done rows)."""
        self._finish(seq, "delivered", None)

    def refused(self, seq: int, error: str) -> None:
        """Prefect refused the event for good (it will not be retried)."""
        self._finish(seq, "refused", error)

    def failed(self, seq: int, error: str) -> None:
        """An attempt failed; the event stays pending and will be retried."""
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                (error[:MAX_ERROR_CHARS], seq),
            )

    def _finish(self, seq: int, state: str, error: str | None) -> None:
        with self._lock, self._transaction():
            # a delivered event's payload (download token included) has no business on disk
            self._db.execute(
                "UPDATE deliveries SET state = ?, last_error = ?, done_at = ?, "
                "event = CASE WHEN ? = 'delivered' THEN '' ELSE event END WHERE seq = ?",
                (
                    state,
                    None if error is None else error[:MAX_ERROR_CHARS],
                    time.time(),
                    state,
                    seq,
                ),
            )
            # forget the oldest finished rows beyond keep_done, every 1/10 of keep_done (at
            # most 100) finishes: the scan costs keep_done rows, so not on every delivery
            if seq % max(1, min(100, self.keep_done // 10)) == 0:
                self._db.execute(
                    "DELETE FROM deliveries WHERE state != 'pending' AND seq <= ("
                    "  SELECT seq FROM deliveries WHERE state != 'pending'"
                    "  ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                    (self.keep_done,),
                )

    def close(self) -> None:
        """Close the database and release the spool (a temporary spool is removed)."""
        with self._lock:
            self._db.close()
            self._file_lock.release()
            if self._temporary is not None:
                self._temporary.cleanup()
                self._temporary = None

    # ---- transactions ----------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error); SQLite errors → SpoolError."""
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise SpoolError(f"cannot use the spool {self.path}: {error}") from None


def default_spool_path(port: int) -> Path:
    """``$PREFECT_HOME/zoom-webhooks/spool-<port>.sqlite3``: one spool per receiver port."""
    from prefect.settings import PREFECT_HOME

    return Path(PREFECT_HOME.value()) / "zoom-webhooks" / f"spool-{port}.sqlite3"


__all__ = [
    "Spool",
    "SpoolError",
    "SpoolFullError",
    "SpoolInUseError",
    "SpooledEvent",
    "default_spool_path",
]
