"""What services open at start-up and close on shutdown, built the same way everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.archive import ArchiveDatabase, DatabaseSettings, upgrade_to_head
from shared.settings import load_settings
from shared.storage import FileStore, StorageSettings, open_file_store


@asynccontextmanager
async def archive_database(settings: DatabaseSettings | None = None) -> AsyncIterator[ArchiveDatabase]:
    """The archive database, migrated to the newest schema first (safe from many services at once)."""
    settings = settings or load_settings(DatabaseSettings)
    await upgrade_to_head(settings.url)
    async with ArchiveDatabase(settings.url) as database:
        yield database


async def file_store(settings: StorageSettings | None = None) -> FileStore:
    """The file store `PHOENIX_STORE_URL` names, checked: a missing bucket or refused credentials stop the service."""
    store = open_file_store(settings or load_settings(StorageSettings))
    await store.check()
    return store
