"""Cloud recordings: the files of a recorded meeting, and the date ranges Zoom lists them by."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field, model_validator

from prefect_zoom.models._base import ZoomModel

FILE_TYPES = (
    "MP4",
    "M4A",
    "CHAT",
    "TRANSCRIPT",
    "CSV",
    "TB",
    "CC",
    "CHAT_MESSAGE",
    "SUMMARY",
    "TIMELINE",
)
FileType = Literal[
    "MP4", "M4A", "CHAT", "TRANSCRIPT", "CSV", "TB", "CC", "CHAT_MESSAGE", "SUMMARY", "TIMELINE"
]

# What a download of each file type may answer; anything else (HTML above all) is a failure.
CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "MP4": ("video/mp4", "application/octet-stream"),
    "M4A": ("audio/mp4", "audio/m4a", "audio/x-m4a", "application/octet-stream"),
    "TRANSCRIPT": ("text/vtt", "text/plain", "application/octet-stream"),
    "CC": ("text/vtt", "text/plain", "application/octet-stream"),
    "CHAT": ("text/plain", "application/octet-stream"),
    "CHAT_MESSAGE": ("text/plain", "application/json", "application/octet-stream"),
    "CSV": ("text/csv", "text/plain", "application/octet-stream"),
    "TIMELINE": ("application/json", "text/plain", "application/octet-stream"),
    "SUMMARY": ("application/json", "text/plain", "application/octet-stream"),
    "TB": ("application/json", "text/plain", "application/octet-stream"),
}


class RecordingFile(ZoomModel):
    """One file of a recording. CC and TIMELINE entries have no id, status, size or type."""

    id: str | None = None
    meeting_id: str | None = None
    recording_start: datetime | None = None
    recording_end: datetime | None = None
    file_type: str
    file_extension: str | None = None
    file_size: int | None = None
    play_url: str | None = None
    download_url: str
    status: str | None = None
    recording_type: str | None = None

    @property
    def file_name(self) -> str:
        """A stable, filesystem-safe name: ``<start>_<type>_<id>.<ext>``."""
        start = self.recording_start.strftime("%Y%m%dT%H%M%SZ") if self.recording_start else "x"
        ident = self.id or (self.recording_type or "file")
        extension = (self.file_extension or self.file_type).lower()
        return _safe(f"{start}_{self.recording_type or self.file_type.lower()}_{ident}.{extension}")


class RecordingMeeting(ZoomModel):
    """A recorded meeting with its files."""

    uuid: str
    id: int
    account_id: str | None = None
    host_id: str | None = None
    topic: str | None = None
    start_time: datetime | None = None
    duration: int | None = None
    total_size: int | None = None
    recording_count: int | None = None
    recording_files: list[RecordingFile] = Field(default_factory=list)
    download_access_token: str | None = Field(None, repr=False)

    @property
    def folder_name(self) -> str:
        """A stable, filesystem-safe folder: ``<date>_<meeting id>_<short uuid digest>``."""
        import hashlib

        day = self.start_time.strftime("%Y-%m-%d") if self.start_time else "undated"
        digest = hashlib.sha1(self.uuid.encode()).hexdigest()[:10]
        return _safe(f"{day}_{self.id}_{digest}")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.T" else "_" for c in name)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (Jan 31 + 1 → Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class DateRange(ZoomModel):
    """An inclusive range of UTC days; Zoom lists recordings at most one month at a time."""

    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(
                f"the range ends ({self.end}) before it starts ({self.start}); swap from and to"
            )
        return self

    def month_windows(self) -> Iterator[tuple[date, date]]:
        """Consecutive windows no longer than Zoom's one-month rule, covering the range."""
        window_start = self.start
        while window_start <= self.end:
            window_end = min(add_months(window_start, 1) - timedelta(days=1), self.end)
            yield window_start, window_end
            window_start = window_end + timedelta(days=1)
