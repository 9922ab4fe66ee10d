"""A 2 GiB recording archived to S3: the pack's archive flow vs boto3 alone uploading the file.

Run ``python benchmarks/archive_s3.py --bytes 2147483648`` (it starts a Prefect server; ``run.py
--only s3`` uses the runner's). The emulator serves one recording (a 2 GiB MP4 and a small chat
file) and moto's S3 server stores the objects, each in its own process (their memory does not
count). Two kinds of fresh process, run in alternating order (three times each by default; the best
time of each kind and the highest memory are kept), each warms up on a small file, records its own
peak RSS (``download_memory.peak_rss_kib``) as the baseline, then does the big one and records its
peak again:

* ``pack``: the ``archive_recordings`` flow with ``destination_block="s3-bucket/<name>"`` (a saved
  prefect-aws ``S3Bucket``), as a user runs it: warm-up on the chat file, then the MP4 (download
  to the staging folder, ``S3Bucket.upload_from_path``, size read back, manifest). Its upload
  phase is timed from the staged file's completion to the end of the store's work (upload and
  check), by wrapping ``FileTransfer.staged`` and ``UploadStore.download`` (timing only);
* ``boto3``: ``boto3.client("s3").upload_file`` of the same file, staged just before (untimed)
  by the pack's downloader as the flow stages it: written, not forced to disk. Both uploads
  start with the same 2 GiB of dirty pages (a file synced first uploads faster while the
  kernel writes back the other's: an unfair baseline). Both use boto3's default transfer
  settings (multipart above 8 MiB, 8 MiB parts, 10 threads), as ``S3Bucket.upload_from_path``
  passes none.

One JSON line is printed: baselines, peaks and growths (KiB), seconds, and whether the object and
the manifest hold the file's size and SHA-256 (the emulator's). ``run(...)`` returns the same dict.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from _support import TESTS_DIR, child_result
from download_memory import WARM_UP_BYTES, measured, recording_file
from download_throughput import credentials, emulator_process

sys.path.insert(0, str(TESTS_DIR))  # moto's server and the bucket blocks live with the tests

from helpers.s3 import moto_s3, new_bucket, object_bytes, object_sizes

MOTO_KEY = {"aws_access_key_id": "moto", "aws_secret_access_key": "moto-secret"}
"""What ``helpers.s3.new_bucket`` gives its blocks (moto accepts any)."""


def add_recording(base_url: str, size: int) -> list[dict[str, Any]]:
    """A recorded meeting with an MP4 of ``size`` bytes and a small chat file; its file entries
    (the MP4 first)."""
    answer = httpx.post(
        f"{base_url}/_emulator/recordings",
        json={"mp4_bytes": size, "file_types": ["MP4", "CHAT"]},
        timeout=30,
    )
    answer.raise_for_status()
    files: list[dict[str, Any]] = answer.json()["files"]
    return files


def _synced(warm_up: Callable[[], object]) -> Callable[[], None]:
    """``warm_up``, then ``os.sync()``: the timed run does not pay for the pages it left dirty."""

    def run() -> None:
        warm_up()
        os.sync()

    return run


# ---- the two uploaders (each in its own process) -----------------------------------------------
def _pack_archive(payload: dict[str, Any]) -> dict[str, Any]:
    """(child) The archive flow to a saved ``S3Bucket`` block: the chat file, then the MP4."""
    from prefect_zoom.flows import archive_recordings
    from prefect_zoom.flows._manifest import MANIFEST_NAME
    from prefect_zoom.transfer.destinations import FileTransfer, UploadStore

    marks: dict[str, float] = {}
    staged, landed = FileTransfer.staged, UploadStore.download

    def timed_staged(self: FileTransfer, key: str) -> Any:
        answer = staged(self, key)
        marks["staged"] = time.perf_counter()
        return answer

    def timed_download(self: UploadStore, transfer: FileTransfer) -> Any:
        answer = landed(self, transfer)
        marks["uploaded"] = time.perf_counter()
        return answer

    FileTransfer.staged = timed_staged  # type: ignore[method-assign]
    UploadStore.download = timed_download  # type: ignore[method-assign]

    connection = f"bench-s3-{uuid.uuid4().hex[:8]}"
    credentials(payload["base_url"]).save(connection)
    bucket = new_bucket(payload["endpoint"])
    bucket_block = f"bench-s3-{uuid.uuid4().hex[:8]}"
    bucket.save(bucket_block)

    def archive(file_type: str) -> Any:
        return asyncio.run(
            archive_recordings(
                connection, destination_block=f"s3-bucket/{bucket_block}", file_types=[file_type]
            )
        )

    def big() -> dict[str, Any]:
        (row,) = archive("MP4").files
        return {"status": row.status, "path": row.path}

    result = measured(_synced(lambda: archive("CHAT")), big)
    result["upload_seconds"] = round(marks["uploaded"] - marks["staged"], 3)
    # Checked after the peak is taken: the object's size and SHA-256, and the manifest's entry.
    client, path = bucket.credentials.get_s3_client(), result["path"]
    result["object_size"] = object_sizes(bucket).get(path)
    result["object_sha256"] = _sha256_of_object(
        client, bucket.bucket_name, f"{bucket.bucket_folder}/{path}"
    )
    manifest = json.loads(object_bytes(bucket, MANIFEST_NAME))["files"]
    result["manifest_sha256"] = next(e["sha256"] for e in manifest if e["path"] == path)
    _empty(client, bucket.bucket_name)
    return result


def _boto3_upload(payload: dict[str, Any]) -> dict[str, Any]:
    """(child) boto3 alone: ``upload_file`` of a small file; then the big one is staged by the
    pack's downloader, as the flow stages it (written, not forced to disk), and uploaded."""
    import boto3

    client = boto3.client(
        "s3", endpoint_url=payload["endpoint"], region_name="us-east-1", **MOTO_KEY
    )
    bucket = f"bench-boto3-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    folder = Path(tempfile.mkdtemp())  # under TMPDIR, as the flow's staging folder

    def big() -> dict[str, Any]:
        staged = _stage(payload["base_url"], payload["entry"], folder)
        started = time.perf_counter()
        client.upload_file(str(staged), bucket, "big")
        seconds = time.perf_counter() - started
        staged.unlink()
        return {"upload_seconds": round(seconds, 3)}

    try:
        small = folder / "small"
        small.write_bytes(os.urandom(WARM_UP_BYTES))
        result = measured(_synced(lambda: client.upload_file(str(small), bucket, "warm-up")), big)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["object_size"] = client.head_object(Bucket=bucket, Key="big")["ContentLength"]
    _empty(client, bucket)
    return result


def _sha256_of_object(client: Any, bucket: str, key: str) -> str:
    """The SHA-256 of an object, read in pieces."""
    digest = hashlib.sha256()
    for piece in client.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1024**2):
        digest.update(piece)
    return digest.hexdigest()


def _empty(client: Any, bucket: str) -> None:
    """Delete every object of the bucket (moto keeps them in its temporary files)."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])


WORKERS = {"pack": _pack_archive, "boto3": _boto3_upload}


def _in_child(kind: str, payload: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, json.dumps(payload)]
    return child_result(command, what=f"{kind} worker", env=env)


def _stage(base_url: str, entry: dict[str, Any], folder: Path) -> Path:
    """The big file downloaded by the pack into ``folder`` (boto3's input), as the flow stages
    it: ``download_recording`` without ``durable``, so its pages are still being written back
    when the upload starts, as the flow's are."""
    from prefect_zoom.transfer import download_recording

    with credentials(base_url).get_client() as zoom:
        result = download_recording(zoom, recording_file(base_url, entry), folder, "big.mp4")
    return Path(result.path)


def run(
    size: int = 2 * 1024**3, env: dict[str, str] | None = None, repeats: int = 3
) -> dict[str, Any]:
    """Measure both uploaders on one recording of ``size`` bytes, ``repeats`` times each in
    alternating order (best time of each, worst memory); ``env`` is the children's environment
    (with the Prefect API the pack's flow reports to)."""
    scratch = Path(tempfile.mkdtemp(prefix="zoom-bench-s3-"))
    # The pack stages under TMPDIR: in the scratch folder, removed at the end.
    child_env = {**(env or os.environ), "TMPDIR": str(scratch)}
    runs: dict[str, list[dict[str, Any]]] = {"pack": [], "boto3": []}
    try:
        with emulator_process() as base_url, moto_s3(scratch / "moto.log") as endpoint:
            big, _chat = add_recording(base_url, size)
            answer = httpx.get(f"{base_url}/_emulator/files/{big['id']}", timeout=600)
            sha256 = answer.raise_for_status().json()["sha256"]
            payload = {"base_url": base_url, "endpoint": endpoint, "entry": big}
            for number in range(repeats):
                for kind in ("boto3", "pack") if number % 2 == 0 else ("pack", "boto3"):
                    runs[kind].append(_in_child(kind, payload, child_env))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    pack = min(runs["pack"], key=lambda one: float(one["upload_seconds"]))
    bare = min(runs["boto3"], key=lambda one: float(one["upload_seconds"]))
    everyone = runs["pack"] + runs["boto3"]

    def worst(kind: str, field: str) -> int:
        return max(int(one[field]) for one in runs[kind])

    mib = size / 1024**2
    return {
        "benchmark": "archive_s3",
        "bytes": size,
        "repeats": repeats,
        "pack_baseline_kib": worst("pack", "baseline_kib"),
        "pack_peak_kib": worst("pack", "peak_kib"),
        "pack_growth_kib": worst("pack", "growth_kib"),
        "boto3_baseline_kib": worst("boto3", "baseline_kib"),
        "boto3_peak_kib": worst("boto3", "peak_kib"),
        "boto3_growth_kib": worst("boto3", "growth_kib"),
        "pack_seconds": pack["seconds"],
        "pack_upload_seconds": pack["upload_seconds"],
        "boto3_seconds": bare["upload_seconds"],
        "pack_upload_mib_per_s": round(mib / pack["upload_seconds"], 1),
        "boto3_mib_per_s": round(mib / bare["upload_seconds"], 1),
        "ratio": round(bare["upload_seconds"] / pack["upload_seconds"], 3),
        "median_ratio": round(
            statistics.median(one["upload_seconds"] for one in runs["boto3"])
            / statistics.median(one["upload_seconds"] for one in runs["pack"]),
            3,
        ),
        "all_upload_seconds": {
            kind: [one["upload_seconds"] for one in done] for kind, done in runs.items()
        },
        "status_ok": all(one["status"] == "downloaded" for one in runs["pack"]),
        "size_ok": all(one["object_size"] == size for one in everyone),
        "sha256_ok": all(
            one["object_sha256"] == one["manifest_sha256"] == sha256 for one in runs["pack"]
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bytes", type=int, default=2 * 1024**3, help="size of the recording")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, alternating")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("payload", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](json.loads(args.payload))), flush=True)
        return
    from _support import exit_cleanly_on_sigterm, prefect_env, prefect_server

    exit_cleanly_on_sigterm()
    with (
        tempfile.TemporaryDirectory(prefix="zoom-bench-prefect-") as home,
        prefect_server(Path(home)) as api_url,
    ):
        print(json.dumps(run(args.bytes, prefect_env(Path(home), api_url), args.repeats)))


if __name__ == "__main__":
    main()
