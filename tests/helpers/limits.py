"""Zoom's per-second rate limits used up on purpose in the emulator, so the next call gets a 429."""

from __future__ import annotations

import math

from zoom_emulator import ZoomEmulator
from zoom_emulator.models.ratelimit import PLANS
from zoom_emulator.models.state import now


def use_up_per_second_limit(emulator: ZoomEmulator, label: str, seconds: int = 2) -> None:
    """Fill the account's ``label`` window (``Light``, ``Medium``…) for this second and the next
    ``seconds - 1``: a call now is answered 429 until they pass. Call it right before the call
    (in the flow), since the windows are seconds; keep ``seconds`` under the client's 5 attempts.
    The emulator needs a plan (``rate_limits="pro"`` or ``"business"``)."""
    limiter = emulator.app.state.rate_limiter
    limit, _window = PLANS[limiter.plan][label]
    first = math.floor(now())
    for second in range(first, first + seconds):
        limiter._windows[(emulator.config.account_id, label, second)] = limit
