"""Files per second: the pack's downloader vs a minimal asyncio + httpx script, same emulator.

Run ``python benchmarks/download_throughput.py --files 200 --size 1000000 --concurrency 8``. The
emulator runs in a separate process with ``--files`` recordings of one MP4 each. In this process,
in the same run:

* ``pack``: :func:`prefect_zoom.transfer.download_many` (what ``download_meeting_recordings``
  runs): a thread pool of ``concurrency``, each file streamed, checked, hashed (SHA-256) and
  landed atomically;
* ``asyncio``: ``httpx.AsyncClient`` with a semaphore of ``concurrency``, each file streamed to
  disk and nothing else.

Each runs ``--repeats`` times, alternating, each run after an ``os.sync()`` (so no run pays for
the dirty pages of the one before). One JSON line is printed: files/s of each from its best time,
``ratio`` (pack / asyncio, best against best) and ``median_ratio``. ``run(...)`` returns the
same dict.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from zoom_emulator.server import free_port

EMULATOR_CODE = (
    "import sys\n"
    "from zoom_emulator import EmulatorConfig, ZoomEmulator\n"
    "config = EmulatorConfig.model_validate_json(sys.argv[1])\n"
    "ZoomEmulator(config, port=int(sys.argv[2])).serve_forever()\n"
)


@contextmanager
def emulator_process(**config: Any) -> Iterator[str]:
    """An emulator in a child process; yields its base URL."""
    port = free_port()
    settings = json.dumps({"recordings_per_user": 0, **config})
    process = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_CODE, settings, str(port)], stdout=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError("the emulator process exited")
            try:
                if httpx.get(f"{base_url}/_emulator/state", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start within 60 s")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def credentials(base_url: str) -> Any:
    """A Server-to-Server connection to the emulator's built-in app (not saved)."""
    from prefect_zoom import ZoomServerToServerCredentials
    from zoom_emulator import EmulatorConfig

    config = EmulatorConfig()
    return ZoomServerToServerCredentials(
        account_id=config.account_id,
        client_id=config.s2s_client_id,
        client_secret=config.s2s_client_secret,
        api_base_url=f"{base_url}/v2",
        oauth_base_url=f"{base_url}/oauth",
    )


def seed(base_url: str, count: int, size: int) -> list[dict[str, Any]]:
    """``count`` recordings with one MP4 of ``size`` bytes each; their file entries."""
    with httpx.Client(base_url=f"{base_url}/_emulator", timeout=30) as control:
        files = []
        for number in range(count):
            answer = control.post(
                "/recordings",
                json={"topic": f"bench {number}", "mp4_bytes": size, "file_types": ["MP4"]},
            )
            answer.raise_for_status()
            files.append(answer.json()["files"][0])
    return files


# ---- the two downloaders -----------------------------------------------------------------------
def pack_download(
    base_url: str, entries: list[dict[str, Any]], folder: Path, concurrency: int
) -> float:
    """Seconds the pack's ``download_many`` takes for every file."""
    from prefect_zoom.models.recordings import RecordingFile
    from prefect_zoom.transfer import DownloadJob, download_many

    jobs = [
        DownloadJob(
            RecordingFile(
                id=entry["id"],
                file_type="MP4",
                file_extension="MP4",
                file_size=entry["file_size"],
                download_url=f"{base_url}/rec/download/{entry['id']}",
            ),
            f"{entry['id']}.mp4",
        )
        for entry in entries
    ]
    with credentials(base_url).get_client() as zoom:
        zoom.tokens.get_token()  # the token first, as the asyncio script gets it beforehand
        started = time.perf_counter()
        results = download_many(zoom, jobs, folder, max_concurrency=concurrency)
        seconds = time.perf_counter() - started
    assert all(r.status == "downloaded" for r in results)
    return seconds


async def _asyncio_download(
    base_url: str,
    entries: list[dict[str, Any]],
    folder: Path,
    concurrency: int,
    token: str,
    checksum: bool = False,
) -> float:
    """Seconds for every file; ``checksum``: also a SHA-256 of each file's bytes as they come
    (work the pack does for every file, to record it)."""
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
        timeout=60, follow_redirects=True, headers=headers, limits=limits
    ) as client:

        async def one(entry: dict[str, Any]) -> None:
            async with (
                gate,
                client.stream("GET", f"{base_url}/rec/download/{entry['id']}") as answer,
            ):
                answer.raise_for_status()
                digest = hashlib.sha256() if checksum else None
                with open(folder / f"{entry['id']}.mp4", "wb") as out:
                    async for piece in answer.aiter_bytes():
                        if digest is not None:
                            digest.update(piece)
                        out.write(piece)

        started = time.perf_counter()
        await asyncio.gather(*(one(entry) for entry in entries))
        return time.perf_counter() - started


def asyncio_download(
    base_url: str, entries: list[dict[str, Any]], folder: Path, concurrency: int
) -> float:
    """Seconds a minimal asyncio + httpx script takes for every file."""
    with credentials(base_url).get_client() as zoom:
        token = zoom.tokens.get_token()
    return asyncio.run(_asyncio_download(base_url, entries, folder, concurrency, token))


def run(
    files: int = 200, size: int = 1_000_000, concurrency: int = 8, repeats: int = 5
) -> dict[str, Any]:
    """Time both downloaders on ``files`` files of ``size`` bytes, alternating ``repeats``
    times and keeping each one's best run; the result as a dict."""
    downloaders = (("asyncio", asyncio_download), ("pack", pack_download))
    timings: dict[str, list[float]] = {"asyncio": [], "pack": []}
    with emulator_process() as base_url:
        entries = seed(base_url, files, size)
        for _ in range(max(1, repeats)):
            for name, download in downloaders:
                folder = Path(tempfile.mkdtemp(prefix=f"zoom-bench-{name}-"))
                try:
                    os.sync()  # no dirty pages of the previous run slow this one down
                    seconds = download(base_url, entries, folder, concurrency)
                    sizes = [p.stat().st_size for p in folder.iterdir()]
                    assert len(sizes) == files and set(sizes) == {size}, f"{name}: wrong files"
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                timings[name].append(seconds)
    best = {name: min(seconds) for name, seconds in timings.items()}
    pack_rate = files / best["pack"]
    asyncio_rate = files / best["asyncio"]
    return {
        "benchmark": "download_throughput",
        "files": files,
        "bytes_per_file": size,
        "concurrency": concurrency,
        "repeats": max(1, repeats),
        "pack_files_per_s": round(pack_rate, 1),
        "asyncio_files_per_s": round(asyncio_rate, 1),
        "ratio": round(pack_rate / asyncio_rate, 3),
        "median_ratio": round(
            statistics.median(timings["asyncio"]) / statistics.median(timings["pack"]), 3
        ),
        "pack_seconds": round(best["pack"], 3),
        "asyncio_seconds": round(best["asyncio"], 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=1_000_000, help="bytes per file")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs; best kept")
    args = parser.parse_args(argv)
    from _support import exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()
    print(json.dumps(run(args.files, args.size, args.concurrency, args.repeats)))


if __name__ == "__main__":
    main()
