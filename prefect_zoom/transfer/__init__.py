"""Recording files from Zoom to a folder or a Prefect file system block: resumed, verified,
landed atomically. Plain Python (no tasks, no flows): the recording tasks call it, and so can any
script.

* :mod:`~prefect_zoom.transfer.protocol`: one file's range requests, resume and answer checks.
* :mod:`~prefect_zoom.transfer.files`: partials, hashing writes, ``fsync``, private staging.
* :mod:`~prefect_zoom.transfer.destinations`: one adapter per kind of destination.
* :mod:`~prefect_zoom.transfer.pool`: many files on a thread pool.

See ``docs/recordings.md``.
"""

from prefect_zoom.exceptions import UnsafePartialError, ZoomDownloadError
from prefect_zoom.transfer.destinations import (
    IN_MEMORY_LIMIT,
    Destination,
    beside,
    check_relative_path,
    download_recording,
)
from prefect_zoom.transfer.files import CHUNK_SIZE, make_durable, partial_path, staging_root
from prefect_zoom.transfer.pool import DownloadJob, download_many
from prefect_zoom.transfer.protocol import (
    DEFAULT_RETRY_DELAYS,
    DownloadResult,
    TransferOptions,
    acceptable_content_type,
    download_to_path,
)

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_RETRY_DELAYS",
    "IN_MEMORY_LIMIT",
    "Destination",
    "DownloadJob",
    "DownloadResult",
    "TransferOptions",
    "UnsafePartialError",
    "ZoomDownloadError",
    "acceptable_content_type",
    "beside",
    "check_relative_path",
    "download_many",
    "download_recording",
    "download_to_path",
    "make_durable",
    "partial_path",
    "staging_root",
]
