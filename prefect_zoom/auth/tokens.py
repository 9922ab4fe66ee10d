"""Access and refresh tokens as one value, and when to renew them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator

MAX_REFRESH_MARGIN = timedelta(seconds=60)
"""Renew at most this long before expiry..."""
MARGIN_SHARE = 0.01
"""...and at most this share of the token's lifetime before expiry.

The margin only has to cover the moment between checking a token and Zoom reading it: the
lifetime is counted from when the token was *requested* (see :meth:`TokenSet.from_response`), so
the client's clock always runs out before Zoom's. A request that still races an expiry gets 401
and is retried once with the next token (single-flight), so a larger margin would only cost extra
refreshes: with Zoom's one-hour tokens it is 36 s; with the emulator's 2-second tokens, 20 ms."""


def utcnow() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A datetime in UTC (naive values are taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class TokenSet(BaseModel):
    """One grant's tokens. Secrets stay hidden in reprs and logs."""

    access_token: SecretStr = Field(description="The bearer token sent to Zoom's REST API.")
    refresh_token: SecretStr | None = Field(
        default=None, description="The single-use token that gets the next access token."
    )
    expires_at: datetime = Field(description="When the access token expires (UTC).")
    issued_at: datetime = Field(default_factory=utcnow, description="When it was issued (UTC).")
    scopes: list[str] = Field(default_factory=list, description="Scopes Zoom granted.")

    @field_validator("expires_at", "issued_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, now: datetime | None = None) -> TokenSet:
        """Build from a token endpoint answer (``access_token``, ``expires_in``, ``scope``...).

        ``now`` should be when the token was *requested*: Zoom starts the lifetime on its side
        later than that, so an expiry counted from the request is never later than Zoom's.
        """
        now = now or utcnow()
        expires_in = float(data.get("expires_in") or 3600)
        refresh = data.get("refresh_token")
        scope = data.get("scope") or ""
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
        return cls(
            access_token=SecretStr(str(data["access_token"])),
            refresh_token=SecretStr(str(refresh)) if refresh else None,
            expires_at=now + timedelta(seconds=expires_in),
            issued_at=now,
            scopes=scopes,
        )

    @property
    def lifetime(self) -> timedelta:
        return self.expires_at - self.issued_at

    @property
    def refresh_margin(self) -> timedelta:
        """How long before expiry to renew: min(60 s, 1 % of the lifetime)."""
        return min(MAX_REFRESH_MARGIN, self.lifetime * MARGIN_SHARE)

    def expires_soon(self, now: datetime | None = None) -> bool:
        """True when the token should be renewed now rather than used."""
        return (now or utcnow()) >= self.expires_at - self.refresh_margin

    def usable(self, now: datetime | None = None, *, rejected: str | None = None) -> bool:
        """Fresh enough to use, and not the token Zoom just rejected."""
        if rejected is not None and self.access_token.get_secret_value() == rejected:
            return False
        return not self.expires_soon(now)
