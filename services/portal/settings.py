"""PortalSettings: where the archive is and how the portal serves it, built once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.archive.settings import SQLITE_FILE_NAME, sqlite_url
from shared.settings import KafkaSettings


class PortalSettings(BaseSettings):
    """`PHOENIX_PORTAL_*`; the CLI fills database_url and data_dir from `--data` or the shared settings."""

    model_config = SettingsConfigDict(env_prefix="PHOENIX_PORTAL_", extra="ignore")

    database_url: str = Field(description="SQLAlchemy URL of the archive database.")
    data_dir: Path = Field(description="Data folder: the default SQLite database and file store (PHOENIX_STORE_URL).")
    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port to listen on; 0 picks a free one.")
    public_read: bool = Field(
        default=True, description="Search, SSA and the history website need no token (scope read otherwise)."
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Larger request bodies are refused (413).")
    kafka: KafkaSettings | None = Field(
        default=None, description="Broker for POST /api/requests; without it the route answers 503."
    )
    migrate: bool = Field(default=True, description="Bring the database schema to head at start-up.")
    public_url: AnyHttpUrl | None = Field(
        default=None,
        description="Scheme, host and port people reach the portal at (e.g. https://archive.example.org); "
        "every absolute link is built from it. Unset: the address the portal listens on. Never the Host header.",
    )

    @field_validator("public_url")
    @classmethod
    def _origin_only(cls, url: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if url is not None and ((url.path or "/") != "/" or url.query or url.fragment):
            raise ValueError(f"public_url {url} must be scheme://host[:port] only, without a path or query")
        return url


def default_database_url(data_dir: Path) -> str:
    return sqlite_url(data_dir.resolve() / SQLITE_FILE_NAME)
