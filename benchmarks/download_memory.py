"""Peak memory of downloading one big recording: the pack's downloader vs a bare httpx stream.

Run ``python benchmarks/download_memory.py --bytes 2147483648``. The emulator serves the file from
a separate process (its memory does not count). Each downloader runs in its own fresh process that
imports the same modules, warms up on a small file, records its peak RSS (:func:`peak_rss_kib`) as
the baseline, downloads the big file and records its peak again:

* ``pack``: :func:`prefect_zoom.transfer.download_recording` (what ``download_recording_file``
  runs) into a temporary folder: streamed, hashed, fsync-ed, landed atomically;
* ``httpx``: ``httpx.Client.stream`` with the same token, every byte to ``/dev/null``.

One JSON line is printed: both baselines, peaks and growths (KiB), durations, and whether the
pack's SHA-256 matched the emulator's. ``run(...)`` returns the same dict.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from download_throughput import credentials, emulator_process

WARM_UP_BYTES = 4 * 1024 * 1024


def peak_rss_kib() -> int:
    """Peak resident memory of this process so far, in KiB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``, the high-water mark of the process's
    own memory since it was started. ``ru_maxrss`` is not: Linux carries the parent's peak over
    an ``exec``, so a child started by a 156 MB runner reports at least 156 MB whatever it does.
    Elsewhere ``ru_maxrss`` is the best there is (macOS reports it in bytes).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def add_recording(base_url: str, size: int) -> dict[str, Any]:
    """A recorded meeting with one MP4 of ``size`` bytes; returns its file entry."""
    answer = httpx.post(
        f"{base_url}/_emulator/recordings",
        json={"mp4_bytes": size, "file_types": ["MP4"]},
        timeout=30,
    )
    answer.raise_for_status()
    file: dict[str, Any] = answer.json()["files"][0]
    return file


def recording_file(base_url: str, entry: dict[str, Any]) -> Any:
    from prefect_zoom.models.recordings import RecordingFile

    return RecordingFile(
        id=entry["id"],
        file_type="MP4",
        file_extension="MP4",
        file_size=entry["file_size"],
        download_url=f"{base_url}/rec/download/{entry['id']}",
    )


# ---- the two downloaders (each in its own process) ---------------------------------------------
def _pack_download(base_url: str, entry: dict[str, Any], folder: Path) -> dict[str, Any]:
    from prefect_zoom.transfer import download_recording

    with credentials(base_url).get_client() as zoom:
        result = download_recording(zoom, recording_file(base_url, entry), folder, "file.mp4")
    Path(result.path).unlink()
    return {"sha256": result.sha256, "size": result.size}


def _httpx_download(base_url: str, entry: dict[str, Any], _folder: Path) -> dict[str, Any]:
    import prefect_zoom.transfer  # noqa: F401  (the same imports as the pack's worker)

    with credentials(base_url).get_client() as zoom:
        token = zoom.tokens.get_token()
    size = 0
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    with (
        httpx.Client(timeout=60, follow_redirects=True) as client,
        client.stream("GET", f"{base_url}/rec/download/{entry['id']}", headers=headers) as answer,
        open("/dev/null", "wb") as sink,
    ):
        answer.raise_for_status()
        for piece in answer.iter_bytes():
            sink.write(piece)
            size += len(piece)
    return {"sha256": None, "size": size}


WORKERS = {"pack": _pack_download, "httpx": _httpx_download}


def measured(warm_up: Callable[[], object], job: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``warm_up``, take the peak RSS as the baseline, run ``job`` (timed), take it again."""
    warm_up()
    baseline = peak_rss_kib()
    started = time.perf_counter()
    outcome = job()
    seconds = time.perf_counter() - started
    peak = peak_rss_kib()
    return {
        "baseline_kib": baseline,
        "peak_kib": peak,
        "growth_kib": peak - baseline,
        "seconds": round(seconds, 3),
        **outcome,
    }


def worker(kind: str, base_url: str, big: dict[str, Any], small: dict[str, Any]) -> dict[str, Any]:
    """Warm up on the small file, then measure the big one; runs in a fresh process."""
    download = WORKERS[kind]
    with tempfile.TemporaryDirectory(prefix="zoom-bench-") as folder:
        return measured(
            lambda: download(base_url, small, Path(folder)),
            lambda: download(base_url, big, Path(folder)),
        )


def _in_child(kind: str, base_url: str, big: dict[str, Any], small: dict[str, Any]) -> Any:
    from _support import child_result

    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind]
    command += ["--base-url", base_url, "--files", json.dumps([big, small])]
    return child_result(command, what=f"{kind} worker")


def run(size: int = 2 * 1024**3, *, verify: bool = True) -> dict[str, Any]:
    """Measure both downloaders on one file of ``size`` bytes; the result as a dict."""
    with emulator_process() as base_url:
        big = add_recording(base_url, size)
        small = add_recording(base_url, WARM_UP_BYTES)
        pack = _in_child("pack", base_url, big, small)
        bare = _in_child("httpx", base_url, big, small)
        expected = None
        if verify:
            answer = httpx.get(f"{base_url}/_emulator/files/{big['id']}", timeout=600)
            expected = answer.json()["sha256"]
    mib = size / 1024**2
    return {
        "benchmark": "download_memory",
        "bytes": size,
        "pack_baseline_kib": pack["baseline_kib"],
        "pack_peak_kib": pack["peak_kib"],
        "pack_growth_kib": pack["growth_kib"],
        "httpx_baseline_kib": bare["baseline_kib"],
        "httpx_peak_kib": bare["peak_kib"],
        "httpx_growth_kib": bare["growth_kib"],
        "pack_extra_growth_kib": pack["growth_kib"] - bare["growth_kib"],
        "pack_seconds": pack["seconds"],
        "httpx_seconds": bare["seconds"],
        "pack_mib_per_s": round(mib / pack["seconds"], 1) if pack["seconds"] else None,
        "httpx_mib_per_s": round(mib / bare["seconds"], 1) if bare["seconds"] else None,
        "size_ok": pack["size"] == size and bare["size"] == size,
        "sha256_ok": (pack["sha256"] == expected) if verify else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bytes", type=int, default=2 * 1024**3, help="size of the recording")
    parser.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        big, small = json.loads(args.files)
        print(json.dumps(worker(args.worker, args.base_url, big, small)))
        return
    from _support import exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()
    print(json.dumps(run(args.bytes, verify=not args.no_verify)))


if __name__ == "__main__":
    main()
