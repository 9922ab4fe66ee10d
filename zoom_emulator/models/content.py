"""Deterministic file bytes: any range of a multi-gigabyte recording without memory or disk.

A file is a run of 64 KiB chunks. Every chunk is the same pseudo-random block (seeded by the file
id) with the chunk's index written into its first 8 bytes, so a chunk that lands in the wrong place
changes the file's digest.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Iterator
from functools import lru_cache

CHUNK = 64 * 1024


@lru_cache(maxsize=64)
def _block(file_id: str) -> bytes:
    return random.Random(file_id).randbytes(CHUNK)


def chunk(file_id: str, index: int) -> bytes:
    """The full 64 KiB chunk number ``index`` of a file."""
    return struct.pack(">Q", index) + _block(file_id)[8:]


def iter_bytes(file_id: str, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of a file, in pieces of at most 64 KiB."""
    position = start
    while position < end:
        index, offset = divmod(position, CHUNK)
        piece = chunk(file_id, index)[offset : min(CHUNK, offset + end - position)]
        yield piece
        position += len(piece)


def read_bytes(file_id: str, start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` (exclusive) in one piece; for small files and tests."""
    return b"".join(iter_bytes(file_id, start, end))


def sha256(file_id: str, size: int) -> str:
    """The hex SHA-256 of a whole file of ``size`` bytes."""
    digest = hashlib.sha256()
    for piece in iter_bytes(file_id, 0, size):
        digest.update(piece)
    return digest.hexdigest()
