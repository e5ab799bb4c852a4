"""QcSettings (`PHOENIX_QC_*`): built once at start-up and passed down."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class QcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOENIX_QC_", extra="ignore")

    threshold_set: str | None = Field(
        default=None,
        description="Score every night with this named threshold set (a release's) instead of the set valid for the night.",
    )
    resolving_power: float = Field(
        default=40_000.0, gt=0, description="Resolving power for the RV template when an SDP has no SPEC_RES."
    )
