"""A throwaway PostgreSQL cluster for a Prefect server, as a team runs Prefect.

The team scenario and the benchmarks that measure a team's setup (``cold-submit``) run Prefect's
server on it. As root, Debian's ``postgresql`` is installed when no PostgreSQL server is found.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _support import free_port


def pg_bin() -> Path:
    """The folder of PostgreSQL's server programs; installs Debian's package when missing."""

    def found() -> Path | None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
        if candidates:
            return Path(candidates[0]).parent
        initdb = shutil.which("initdb")
        return Path(initdb).resolve().parent if initdb else None

    folder = found()
    if folder is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            [*sudo, "apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env
        )
        folder = found()
    if folder is None:
        raise RuntimeError("PostgreSQL is not installed and could not be installed")
    return folder


def _as_postgres(command: list[str]) -> list[str]:
    """Run as the ``postgres`` user when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], **kwargs: Any) -> None:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway cluster on a free port; yields the SQLAlchemy URL of its ``prefect`` database."""
    binaries = pg_bin()
    scratch = Path(tempfile.mkdtemp(prefix="zoom-team-pg-"))
    data = scratch / "data"
    if os.geteuid() == 0:
        shutil.chown(scratch, "postgres")
    port = free_port()
    pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data)]
    try:
        _run(
            _as_postgres(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                ]
            )
        )
        options = f"-p {port} -k {scratch} -c listen_addresses=127.0.0.1 -c max_connections=200"
        _run(
            _as_postgres(
                [
                    *pg_ctl,
                    "-o",
                    options,
                    "-l",
                    str(scratch / "postgres.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        )
        try:
            _run(
                _as_postgres(
                    [
                        str(binaries / "createdb"),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(port),
                        "-U",
                        "postgres",
                        "prefect",
                    ]
                )
            )
            yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/prefect"
        finally:
            _run(_as_postgres([*pg_ctl, "-m", "fast", "-w", "stop"]), timeout=120)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
