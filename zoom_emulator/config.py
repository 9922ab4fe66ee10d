"""Settings of one emulator instance: its built-in apps and account, token lifetimes, limits, faults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

RatePlan = Literal["pro", "business", "off"]


class FaultSettings(BaseModel):
    """What the emulator does wrong on purpose. Each rate is the share of eligible requests (0..1)."""

    error_rate: float = Field(0.0, ge=0, le=1, description="Answer 5xx instead of the real answer.")
    drop_rate: float = Field(0.0, ge=0, le=1, description="Drop the connection mid-answer.")
    lost_write_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Carry out an API write (POST, PATCH, DELETE), then drop the connection "
        "before its answer: Zoom acted, the caller cannot know.",
    )
    slow_rate: float = Field(0.0, ge=0, le=1, description="Delay the answer by slow_seconds.")
    slow_seconds: float = Field(2.0, ge=0, le=60)
    cut_download_rate: float = Field(
        0.0, ge=0, le=1, description="Cut a file download midway through its bytes."
    )
    html_download_rate: float = Field(
        0.0, ge=0, le=1, description="Answer a download with 200 and an HTML page (Zoom does)."
    )
    seed: int | None = Field(None, description="Seed of the fault dice, for repeatable runs.")


class EmulatorConfig(BaseModel):
    """Everything that shapes an emulator. The defaults are fixed so docs and tests can name them."""

    account_id: str = "emuAccount0001"
    user_email: str = "owner@example.com"
    user_password: str = "emulator-password"
    oauth_client_id: str = "emuOAuthClientId"
    oauth_client_secret: str = "emuOAuthClientSecret"
    s2s_client_id: str = "emuS2SClientId"
    s2s_client_secret: str = "emuS2SClientSecret"
    access_token_ttl: int = Field(3600, ge=1, description="Seconds an access token lives.")
    code_ttl: int = Field(300, ge=1, description="Seconds an authorization code lives.")
    page_token_ttl: int = Field(900, ge=1, description="Seconds a next_page_token lives.")
    s2s_single_token: bool = Field(
        False, description="A new S2S token kills the account's older ones (Zoom in 2022-23)."
    )
    rate_limits: RatePlan = "off"
    require_preapproval: bool = False
    seed_users: int = Field(1, ge=1)
    recordings_per_user: int = Field(2, ge=0)
    recording_bytes: int = Field(1_000_000, ge=1, description="Size of each seeded MP4 file.")
    faults: FaultSettings = Field(default_factory=FaultSettings)
    webhook_url: str | None = Field(
        None, description="Event notification endpoint that gets signed webhooks (none: off)."
    )
    webhook_secret_token: str = Field(
        "emuWebhookSecretToken", description="Secret token that signs the webhooks."
    )
