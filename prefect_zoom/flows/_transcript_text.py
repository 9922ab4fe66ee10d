"""The archive's ``transcript_text`` option: ``<name>.txt`` beside each archived ``<name>.vtt``.

Each text file holds the transcript's plain text (one ``Speaker: text`` line per cue, see
:class:`prefect_zoom.models.Transcript`). It is written once: atomically (a temporary file, then
a rename; a block's ``write_path`` elsewhere), then recorded in the manifest, so a rerun finds it
there with its size and leaves it alone.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import PurePosixPath

from prefect import task
from prefect.cache_policies import NONE

from prefect_zoom.flows._manifest import Manifest, ManifestEntry
from prefect_zoom.models.transcripts import Transcript
from prefect_zoom.tasks._common import run_logger

TEXT_FILE_TYPE = "TRANSCRIPT_TEXT"


def text_path(vtt_path: str) -> str:
    """``a/name.vtt`` → ``a/name.txt``."""
    return str(PurePosixPath(vtt_path).with_suffix(".txt"))


def is_transcript(entry: ManifestEntry) -> bool:
    """An archived audio transcript (also once a manifest was rebuilt from the file names,
    ``<start>_audio_transcript_<id>.vtt``, where the entry's type is only the extension)."""
    name = PurePosixPath(entry.path)
    return name.suffix.lower() == ".vtt" and (
        entry.file_type.upper() == "TRANSCRIPT" or "_audio_transcript_" in name.name.lower()
    )


@task(name="Zoom: write transcript texts", tags={"zoom", "recordings"}, cache_policy=NONE)
def write_transcript_texts(manifest: Manifest) -> list[str]:
    """Write the text of every archived transcript that has none yet; the paths written.

    Safe to run again: a text already in the manifest, and in the destination with its size, is
    not written again; a transcript that is not archived (verified) yet is left for a later run.
    """
    log = run_logger()
    written = []
    for entry in list(manifest.entries.values()):
        if not is_transcript(entry) or not manifest.holds(entry):
            continue
        target = text_path(entry.path)
        done = manifest.entries.get(target)
        if done is not None and manifest.holds(done):
            continue
        document = manifest.read_file(manifest.destination, entry.path)
        if document is None:
            continue
        text = Transcript.from_vtt(document.decode("utf-8-sig"), path=entry.path).text + "\n"
        data = text.encode("utf-8")
        manifest.write_file(manifest.destination, data, target)
        manifest.add(
            entry.model_copy(
                update={
                    "path": target,
                    "file_type": TEXT_FILE_TYPE,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "archived_at": datetime.now(UTC),
                    "trashed_in_zoom": False,
                }
            )
        )
        written.append(target)
    if written:
        manifest.save()
    log.info("Wrote %d transcript text file(s)", len(written))
    return written
