"""Deterministic file bytes: any range of a multi-gigabyte recording without memory or disk.

A file is a run of 64 KiB chunks. Every chunk is the same pseudo-random block (seeded by the file
id) with the chunk's index written into its first 8 bytes, so a chunk that lands in the wrong place
changes the file's digest. An audio transcript is text instead: a WebVTT document whose cues are
``Speaker Name: text``, as Zoom writes them (:func:`make_transcript`).
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Iterator
from functools import lru_cache

CHUNK = 64 * 1024
CUE_SECONDS = 15
"""Length of one transcript cue: a transcript has one cue per 15 s of the meeting."""
MAX_CUES = 240

_LINES = (
    "Good morning, everyone, thanks for joining.",
    "Let's start with the numbers from last week.",
    "I think we should ship the fix before Friday.",
    "Can you share your screen?",
    "The release notes are in the shared folder.",
    "We're still waiting on the design review.",
    "Does anyone have questions about the roadmap?",
    "I'll follow up with the customer this afternoon.",
    "That sounds good to me.",
    "Let's take the rest offline.",
)

_TEXTS: dict[str, bytes] = {}
"""The transcripts made so far, by file id (each depends only on its arguments)."""


@lru_cache(maxsize=64)
def _block(file_id: str) -> bytes:
    return random.Random(file_id).randbytes(CHUNK)


def chunk(file_id: str, index: int) -> bytes:
    """The full 64 KiB chunk number ``index`` of a file."""
    return struct.pack(">Q", index) + _block(file_id)[8:]


def _timestamp(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.000"


def make_transcript(file_id: str, speakers: list[str], minutes: int) -> bytes:
    """A Zoom-like audio transcript of a meeting (WebVTT, UTF-8): numbered cues of
    ``Speaker Name: text``, one per :data:`CUE_SECONDS`; its bytes are served for ``file_id``."""
    dice = random.Random(file_id)
    cues = max(1, min(MAX_CUES, minutes * 60 // CUE_SECONDS))
    blocks = ["WEBVTT\n"]
    for number in range(cues):
        start = number * CUE_SECONDS
        end = start + dice.randint(3, CUE_SECONDS - 1)
        line = f"{dice.choice(speakers)}: {dice.choice(_LINES)}"
        blocks.append(f"{number + 1}\n{_timestamp(start)} --> {_timestamp(end)}\n{line}\n")
    text = "\n".join(blocks).encode("utf-8")
    _TEXTS[file_id] = text
    return text


def iter_bytes(file_id: str, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of a file, in pieces of at most 64 KiB."""
    text = _TEXTS.get(file_id)
    if text is not None:
        for offset in range(start, end, CHUNK):
            yield text[offset : min(end, offset + CHUNK)]
        return
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
