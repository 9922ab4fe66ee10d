"""Many recording files at once: a thread pool over :func:`download_recording`."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.models.recordings import RecordingFile
from prefect_zoom.transfer.destinations import Destination, Store, download_recording, store_for
from prefect_zoom.transfer.files import LoggerLike, fsync_dir, logger
from prefect_zoom.transfer.protocol import DownloadResult, TransferOptions, describe

if TYPE_CHECKING:
    from prefect_zoom.client import ZoomClient


@dataclass(frozen=True)
class DownloadJob:
    """One file to download, and where under the destination it goes (a relative POSIX path)."""

    file: RecordingFile
    relative_path: str
    meeting_uuid: str | None = None


OnResult = Callable[[DownloadJob, DownloadResult | None, BaseException | None], None]


class _InfoAsDebug(logging.LoggerAdapter[Any]):
    """Passes records on to its logger, INFO ones at DEBUG (warnings and errors as they are)."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        self.logger.log(logging.DEBUG if level == logging.INFO else level, msg, *args, **kwargs)


def download_many(
    client: ZoomClient,
    jobs: Sequence[DownloadJob],
    destination: Destination | Store,
    *,
    max_concurrency: int = 4,
    options: TransferOptions = TransferOptions(),
    log: LoggerLike | None = None,
    log_each_file: bool = True,
    on_result: OnResult | None = None,
) -> list[DownloadResult]:
    """Download files on at most ``max_concurrency`` threads; results in the order of ``jobs``.

    Every file is attempted; if some fail, each failure is logged and the first one (in job
    order) is raised once the others are done, so a retry skips what already landed.
    ``on_result(job, result, error)`` is called as each file finishes (from the caller's thread),
    e.g. to record it in a manifest or move a progress bar. ``options.durable`` fsyncs each file
    as it lands and each folder once at the end. ``log_each_file=False`` logs each file's
    "downloaded"/"skipped" line at DEBUG, for callers that report progress themselves; retries and
    failures stay warnings and errors.
    """
    if max_concurrency < 1:
        raise ZoomInputError(
            "max_concurrency", f"must be at least 1, got {max_concurrency}", "Use 1 or more."
        )
    log = log or logger
    if not jobs:
        return []
    file_log = log if log_each_file else _InfoAsDebug(log, None)
    store = store_for(destination)
    each = dataclasses.replace(options, sync_folder=False)  # once per folder below, not per file

    def run(job: DownloadJob) -> DownloadResult:
        return download_recording(
            client,
            job.file,
            store,
            job.relative_path,
            meeting_uuid=job.meeting_uuid,
            options=each,
            log=file_log,
        )

    results: dict[int, DownloadResult] = {}
    errors: dict[int, BaseException] = {}
    workers = min(max_concurrency, len(jobs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoom-download") as pool:
        futures = {pool.submit(run, job): index for index, job in enumerate(jobs)}
        for future in as_completed(futures):
            index = futures[future]
            error = future.exception()
            if error is None:
                results[index] = future.result()
            else:
                errors[index] = error
                log.error("%s failed: %s", describe(jobs[index].file), type(error).__name__)
            if on_result is not None:
                on_result(jobs[index], results.get(index), error)
    if options.durable:
        for folder in {Path(r.path).parent for r in results.values() if r.status != "skipped"}:
            if folder.is_dir():  # local landings only; remote stores are durable on upload
                fsync_dir(folder)
    if errors:
        raise errors[min(errors)]
    return [results[index] for index in range(len(jobs))]


__all__ = ["DownloadJob", "OnResult", "download_many"]
