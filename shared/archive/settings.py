"""How to reach the archive database (`PHOENIX_DATABASE_URL`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shared.settings import StorageSettings

SQLITE_FILE_NAME = "phoenix.db"
ASYNC_DRIVERS = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite+aiosqlite"}
SYNC_DRIVERS = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite+pysqlite"}
"""The drivers of a command that only reads (psycopg 3 serves both ways)."""


class DatabaseSettings(BaseSettings):
    """`PHOENIX_DATABASE_URL`; without it, the SQLite file `phoenix.db` under `PHOENIX_DATA_DIR`."""

    model_config = SettingsConfigDict(env_prefix="PHOENIX_DATABASE_", extra="ignore")

    url: str = Field(
        default_factory=lambda: sqlite_url(StorageSettings().data_dir / SQLITE_FILE_NAME),
        description="SQLAlchemy URL: postgresql+psycopg://user:password@host:5432/phoenix or "
        "sqlite+aiosqlite:///path/phoenix.db (plain postgresql:// and sqlite:// get the async driver).",
    )

    @field_validator("url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        return with_async_driver(url)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def with_async_driver(url: str) -> str:
    """The URL with phoenix's async driver for its database (psycopg 3 or aiosqlite)."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ValueError(f"not a database URL: {error}") from None
    backend = parsed.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use postgresql or sqlite")
    return parsed.set(drivername=ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def shown_url(url: str) -> str:
    """The URL as a person may see it: the password hidden, a SQLite file as its path."""
    path = sqlite_path(url)
    return str(path.resolve()) if path is not None else make_url(url).render_as_string(hide_password=True)
