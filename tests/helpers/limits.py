"""Zoom's per-second rate limits used up on purpose in the emulator, so the next call gets a 429."""

from __future__ import annotations

from zoom_emulator import ZoomEmulator


def use_up_per_second_limit(emulator: ZoomEmulator, label: str, seconds: int = 2) -> None:
    """Make the next ``label`` call (``Light``, ``Medium``…) meet a spent per-second window, and
    the ``seconds - 1`` after it: that call and its retries are answered 429 until they pass,
    however long the task takes to send it. Keep ``seconds`` under the client's 5 attempts.
    The emulator needs a plan (``rate_limits="pro"`` or ``"business"``)."""
    limiter = emulator.app.state.rate_limiter
    limiter.spend_on_arrival(emulator.config.account_id, label, windows=seconds)
