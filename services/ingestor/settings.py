"""IngestorSettings (`PHOENIX_INGESTOR_*`): built once at start-up and passed down."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOENIX_INGESTOR_", extra="ignore")

    release: str | None = Field(
        default=None,
        description="Put every ingested IDP in this release instead of its stream's default release "
        "(from shared/instruments/<mode>/releases.toml); it must be one of the releases there.",
    )
