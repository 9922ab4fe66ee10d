"""Partitioned archives: split the users, run each share as a run of the archive deployment, retry
the shares that failed, merge what they did into one report and one manifest.

Concurrent writers of one manifest: each partition's run keeps its OWN manifest file beside the
main one (``.zoom-archive-manifest.partition-<k>.json``, see :func:`partition_manifest`), which
starts as a copy of the main manifest and takes every file that partition archives; the parent
merges them into the main manifest (:meth:`Manifest.absorb`) before it starts the partitions and
once they are done. Not a lock: a storage block (S3, GCS, Azure) offers no lock or
compare-and-swap through ``write_path``, and a file lock does not hold between workers on other
machines sharing a network folder. With one writer per file no entry can be lost, and a retried
partition (or a re-run parent, which merges the leftovers of a run that died first) finds every
file archived so far, so nothing is downloaded twice. Each partition also writes its report to
``.zoom-archive-report.partition-<k>.json`` in the destination, where the parent reads it, so
partitions on any worker report without a shared result storage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from prefect import get_run_logger
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import arun_deployment
from pydantic import BaseModel

from prefect_zoom.flows._archive import ArchiveReport
from prefect_zoom.flows._manifest import Manifest
from prefect_zoom.transfer import Destination

PARTITION_DEPLOYMENT = "Zoom: archive recordings/archive-partition"
"""The deployment ``deployments/prefect.yaml`` makes for the partitions (no schedule, no limit)."""
POLL_SECONDS = 2.0
"""How often the parent asks the Prefect API whether a partition's run has ended."""


class PartitionReport(BaseModel):
    """What a partition's run left in the destination for its parent."""

    flow_run_id: str
    report: ArchiveReport


def split_users(users: Iterable[str], partitions: int) -> list[list[str]]:
    """The users, sorted and without repeats, in at most ``partitions`` contiguous shares whose
    sizes differ by one at most: the same users always give the same split (no empty share)."""
    ordered = sorted(set(users))
    count = max(1, min(partitions, len(ordered)))
    size, extra = divmod(len(ordered), count)
    shares, start = [], 0
    for k in range(count):
        end = start + size + (k < extra)
        shares.append(ordered[start:end])
        start = end
    return [share for share in shares if share]


def partition_manifest(k: int) -> str:
    """The name of partition ``k``'s own manifest file in the destination."""
    return f".zoom-archive-manifest.partition-{k}.json"


def partition_report(k: int) -> str:
    """The name of partition ``k``'s report file in the destination."""
    return f".zoom-archive-report.partition-{k}.json"


def load_partition_manifest(target: Destination, k: int) -> Manifest:
    """Partition ``k``'s manifest: the main one's entries plus its own (written to its own file)."""
    own = Manifest.load(target, partition_manifest(k))
    own.absorb(Manifest.load(target))
    return own


def merge_partition_manifests(target: Destination, count: int) -> None:
    """Take the first ``count`` partitions' manifests into the main one, and save it."""
    main = Manifest.load(target)
    for k in range(count):
        if Manifest.read_file(target, partition_manifest(k)) is not None:
            main.absorb(Manifest.load(target, partition_manifest(k)))
    main.save()


def save_partition_report(
    target: Destination, k: int, flow_run_id: str, report: ArchiveReport
) -> None:
    """Leave partition ``k``'s report in the destination for the parent."""
    data = PartitionReport(flow_run_id=flow_run_id, report=report).model_dump_json()
    Manifest.write_file(target, data.encode(), partition_report(k))


def read_partition_report(target: Destination, k: int, run: FlowRun) -> ArchiveReport | None:
    """Partition ``k``'s report, when the run ``run`` wrote it (not an older run)."""
    raw = Manifest.read_file(target, partition_report(k))
    if raw is None:
        return None
    try:
        stored = PartitionReport.model_validate_json(raw)
    except ValueError:
        return None
    return stored.report if stored.flow_run_id == str(run.id) else None


async def run_partitions(
    deployment: str,
    parameters: Sequence[dict[str, Any]],
    retries: int,
    target: Destination,
) -> tuple[dict[int, list[ArchiveReport]], list[int]]:
    """Run one flow run of ``deployment`` per partition at once, waiting for them all; run the
    failed ones again, up to ``retries`` more times. Returns each partition's reports (one per
    attempt that left one) and the partitions that failed on their last attempt."""
    log = get_run_logger()
    reports: dict[int, list[ArchiveReport]] = {k: [] for k in range(len(parameters))}
    pending = list(range(len(parameters)))
    for attempt in range(retries + 1):
        suffix = f", retry {attempt}" if attempt else ""
        runs: list[FlowRun] = await asyncio.gather(
            *(
                arun_deployment(
                    deployment,
                    parameters=parameters[k],
                    flow_run_name=f"partition {k + 1} of {len(parameters)}{suffix}",
                    timeout=None,
                    poll_interval=POLL_SECONDS,
                    as_subflow=True,
                )
                for k in pending
            )
        )
        failed = []
        for k, run in zip(pending, runs, strict=True):
            if (report := read_partition_report(target, k, run)) is not None:
                reports[k].append(report)
            if run.state is None or not run.state.is_completed():
                failed.append(k)
                state = f"{run.state.name}: {run.state.message}" if run.state else "no state"
                log.warning("Partition %d (%s) ended %s", k + 1, run.name, state)
        pending = failed
        if not pending:
            break
    return reports, pending


def merged_report(
    reports: dict[int, list[ArchiveReport]], empty: ArchiveReport, archived_before: set[str]
) -> ArchiveReport:
    """One report for the partitions: per file its row of the share's last attempt, except that a
    file that attempt found "already archived" but the manifest did not hold when the parent
    started (``archived_before``) counts as downloaded: an earlier attempt of this run fetched it."""
    merged = empty.model_copy(deep=True)
    for attempts in reports.values():
        if not attempts:
            continue
        last = attempts[-1]
        merged.files += [
            row.model_copy(update={"status": "downloaded"})
            if row.status == "already archived" and row.path not in archived_before
            else row
            for row in last.files
        ]
        merged.meetings += last.meetings
        merged.processing_files += last.processing_files
        merged.kept_in_zoom += last.kept_in_zoom
        texts = [text for report in attempts for text in report.transcript_texts]
        merged.transcript_texts += list(dict.fromkeys(texts))
        merged.trashed_files += sum(report.trashed_files for report in attempts)
        merged.trashed_meetings += sum(report.trashed_meetings for report in attempts)
    return merged
