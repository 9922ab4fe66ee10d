"""A meeting's audio transcript: Zoom's WebVTT file as typed segments and plain text."""

from __future__ import annotations

import re
from datetime import timedelta

import webvtt
from pydantic import BaseModel, computed_field
from webvtt.errors import MalformedCaptionError, MalformedFileError

from prefect_zoom.exceptions import ZoomDownloadError

_SPEAKER = re.compile(r"^(?P<speaker>[^:\n]{1,100}):\s+(?P<text>.+)$", re.DOTALL)
"""Zoom writes each cue as ``Speaker Name: text`` (no speaker when it could not tell)."""


class TranscriptSegment(BaseModel):
    """One cue of a transcript: when it is said, by whom (``None`` when Zoom did not say), what."""

    start: timedelta
    end: timedelta
    speaker: str | None
    text: str


class Transcript(BaseModel):
    """A transcript's segments, in order, and its plain text (one ``Speaker: text`` line each)."""

    segments: list[TranscriptSegment]
    path: str | None = None
    """Where the ``.vtt`` file is (when it was downloaded)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def text(self) -> str:
        """The plain text: one line per segment, ``Speaker: text`` (or the text alone)."""
        return "\n".join(f"{s.speaker}: {s.text}" if s.speaker else s.text for s in self.segments)

    @property
    def speakers(self) -> list[str]:
        """The speakers, in the order they first speak."""
        return list(dict.fromkeys(s.speaker for s in self.segments if s.speaker))

    @classmethod
    def from_vtt(cls, document: str, *, path: str | None = None) -> Transcript:
        """Parse a WebVTT document (webvtt-py); ``ZoomDownloadError`` when it is not WebVTT."""
        try:
            captions = webvtt.from_string(document).captions
        except (MalformedFileError, MalformedCaptionError) as error:
            source = path or "the transcript"
            raise ZoomDownloadError(f"{source} is not a WebVTT file: {error}") from None
        segments = []
        for caption in captions:
            said = " ".join(caption.text.split())
            match = _SPEAKER.match(said)
            segments.append(
                TranscriptSegment(
                    start=timedelta(milliseconds=caption.start_time.in_milliseconds()),
                    end=timedelta(milliseconds=caption.end_time.in_milliseconds()),
                    speaker=match["speaker"].strip() if match else None,
                    text=match["text"] if match else said,
                )
            )
        return cls(segments=segments, path=path)


__all__ = ["Transcript", "TranscriptSegment"]
