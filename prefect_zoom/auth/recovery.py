"""The local recovery store: the newest tokens this machine got for a connection, on disk at once.

Zoom rotates the refresh token on every refresh, so the answer to a renewal is the only valid
copy of the connection until it is saved to the block. It is written here first, the moment Zoom
answers: one file per connection, ``<PREFECT_HOME>/prefect-zoom/recovery/<key>.json``, readable by
its owner only (0600), written atomically (a temporary file, fsync, rename, fsync of the folder).
Every process reconciles it with the block under the connection's lock (the newest issue time
wins) and saves a newer token set to the block; once the block holds it, the file is marked
saved (``"saved": true``) and kept, so the other processes of this machine read the newest
tokens here (:func:`latest`) instead of asking the Prefect API. A renewer that gives up its save
marks the file (``"abandoned": true``): the next lock holder saves those tokens, and no process
takes them without the lock meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

from pydantic import ValidationError

from prefect_zoom.auth.locks import safe_key
from prefect_zoom.auth.tokens import TokenSet

logger = logging.getLogger(__name__)


def recovery_file(key: str) -> Path:
    """Where the recovered tokens of connection ``key`` live (a readable prefix, then a digest
    of the whole key, so two Prefect APIs with a block of the same name never share a file)."""
    from prefect.settings import PREFECT_HOME

    home = Path(PREFECT_HOME.value()).expanduser()
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return home / "prefect-zoom" / "recovery" / f"{safe_key(key)[-60:]}-{digest}.json"


def _dump(tokens: TokenSet, saved: bool = False, abandoned: bool = False) -> bytes:
    data = tokens.model_dump(mode="json")
    data["saved"], data["abandoned"] = saved, abandoned
    data["access_token"] = tokens.access_token.get_secret_value()
    if tokens.refresh_token is not None:
        data["refresh_token"] = tokens.refresh_token.get_secret_value()
    return json.dumps(data).encode()


def record(key: str, tokens: TokenSet) -> None:
    """Put ``tokens`` on disk for connection ``key`` (0600, atomic, fsynced) before anything else.

    The file is renamed into place first and forced to disk after: a process killed at any
    moment after the rename has kept the tokens (the kernel holds them), and the milliseconds an
    ``fsync`` takes no longer widen the window in which a killed process loses a renewal. A power
    cut before the ``fsync`` ends may leave an unreadable file, which :func:`recovered` ignores.
    """
    from prefect_zoom.transfer.files import make_durable

    make_durable([_write(key, _dump(tokens))])


def _write(key: str, content: bytes) -> Path:
    """Replace the recovery file of ``key`` with ``content`` atomically (0600); its path."""
    target = recovery_file(key)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)  # 0600
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


class _OnDisk(NamedTuple):
    """A recovery file: the tokens, whether the block holds them, and whether their renewer gave
    up saving them."""

    tokens: TokenSet
    saved: bool
    abandoned: bool


def _read(key: str) -> _OnDisk | None:
    """The recovery file of ``key`` (``None``: none, or an unreadable file)."""
    path = recovery_file(key)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("Could not read the recovery file %s (%s)", path, type(exc).__name__)
        return None
    try:
        marks = json.loads(data)
        tokens = TokenSet.model_validate(marks)
    except (ValidationError, ValueError):
        logger.warning("Ignoring the unreadable recovery file %s", path)
        return None
    return _OnDisk(tokens, bool(marks.get("saved")), bool(marks.get("abandoned")))


def recovered(key: str) -> TokenSet | None:
    """The tokens recorded for connection ``key`` that the block may not hold yet (``None``:
    none, or only tokens marked saved)."""
    found = _read(key)
    return found.tokens if found is not None and not found.saved else None


def latest(key: str) -> TokenSet | None:
    """The newest tokens this machine got for connection ``key``, saved to the block or being
    saved (``None``: none, or tokens whose renewer gave up their save: the lock holder saves
    those)."""
    found = _read(key)
    return found.tokens if found is not None and not found.abandoned else None


def abandon(key: str, tokens: TokenSet) -> None:
    """The renewer of ``tokens`` gave up saving them: mark the file, unless it holds other tokens
    or says they are saved (not forced to disk, as :func:`forget`)."""
    found = _read(key)
    if found is not None and found.tokens.issued_at == tokens.issued_at and not found.saved:
        _write(key, _dump(tokens, abandoned=True))


def forget(key: str, saved: TokenSet) -> None:
    """The block holds ``saved``: mark the file saved, unless it holds something newer.

    Not forced to disk: a marker lost in a crash only makes the next lock holder save the same
    tokens again."""
    found = _read(key)
    if found is None or found.tokens.issued_at < saved.issued_at:
        _write(key, _dump(saved, saved=True))
    elif found.tokens.issued_at == saved.issued_at and not found.saved:
        _write(key, _dump(saved, saved=True))  # the same tokens: now marked saved


def newest(*candidates: TokenSet | None) -> TokenSet | None:
    """The token set issued last (the first one on a tie); ``None`` when there is none."""
    best: TokenSet | None = None
    for tokens in candidates:
        if tokens is not None and (best is None or tokens.issued_at > best.issued_at):
            best = tokens
    return best
