"""What services open at start-up and close on shutdown, built the same way everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

from shared.archive.settings import DatabaseSettings, sqlite_path
from shared.errors import ConfigError
from shared.settings import StorageSettings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from shared.archive.database import ArchiveDatabase
    from shared.storage import FileStore


@asynccontextmanager
async def archive_database(settings: DatabaseSettings | None = None) -> AsyncIterator[ArchiveDatabase]:
    """The archive database, migrated to the newest schema first (safe from many services at once)."""
    from shared.archive.database import ArchiveDatabase
    from shared.archive.migrate import upgrade_to_head  # alembic: only commands that write load it

    settings = settings or load_settings(DatabaseSettings)
    await upgrade_to_head(settings.url)
    async with ArchiveDatabase(settings.url) as database:
        yield database


@contextmanager
def existing_archive_database(settings: DatabaseSettings | None = None) -> Iterator[Connection]:
    """The archive database as it is, for commands that only read it: one read transaction on a
    synchronous Core connection (no ORM, no asyncio, so the command starts fast), never created,
    never migrated. A SQLite file that does not exist is a ConfigError naming it."""
    from shared.archive.engine import create_reading_engine

    settings = settings or load_settings(DatabaseSettings)
    path = sqlite_path(settings.url)
    if path is not None and not path.is_file():
        raise ConfigError(f"no archive database at {path.resolve()}: set PHOENIX_DATA_DIR or PHOENIX_DATABASE_URL to the "
                          "one to read, or create it with `phoenix db upgrade`")
    engine = create_reading_engine(settings.url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


async def file_store(settings: StorageSettings | None = None) -> FileStore:
    """The file store `PHOENIX_STORE_URL` names, checked: a missing bucket or refused credentials stop the service."""
    from shared.storage import open_file_store

    store = open_file_store(settings or load_settings(StorageSettings))
    await store.check()
    return store
