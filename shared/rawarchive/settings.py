"""Settings of the archive client (env prefix `PHOENIX_ARCHIVE_`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ArchiveClientSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOENIX_ARCHIVE_", extra="ignore")

    url: str = Field(description="archive base URL, or a local archive folder to serve in-process")
    token: SecretStr | None = Field(None, description="bearer token sent with uploads and retirements")
    timeout_seconds: float = Field(30.0, gt=0, description="per-request connect/read timeout")
    max_concurrency: int = Field(8, ge=1, description="requests in flight at once")
    max_attempts: int = Field(4, ge=1, description="attempts per request before giving up")
    backoff_seconds: float = Field(0.5, ge=0, description="first retry delay; doubles per attempt")
    backoff_max_seconds: float = Field(8.0, ge=0, description="cap on the retry delay")
