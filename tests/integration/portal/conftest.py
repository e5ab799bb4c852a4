"""Portal tests run on a SQLite file and on a fresh PostgreSQL database, like the archive tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.portal.service import create_app
from services.portal.settings import PortalSettings
from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.settings import sqlite_url
from shared.storage import FileStore, StorageSettings, open_file_store
from tests.integration.archive.conftest import throwaway_postgres_database

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "data" / "phoenix.db")
        return
    yield from throwaway_postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def archive_store(data_dir: Path) -> FileStore:
    """The file store the portal opens for `data_dir` (its default: `data_dir/store`)."""
    return open_file_store(StorageSettings(data_dir=data_dir))


@pytest.fixture
async def db(database_url: str, data_dir: Path) -> AsyncIterator[ArchiveDatabase]:
    await upgrade_to_head(database_url)
    database = ArchiveDatabase(database_url)
    yield database
    await database.close()


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> PortalSettings:
    return PortalSettings(database_url=database_url, data_dir=data_dir)


@pytest.fixture
def app(settings: PortalSettings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI, db: ArchiveDatabase) -> AsyncIterator[httpx.AsyncClient]:
    """In-process client (ASGI transport), with the app's lifespan run around it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
            yield http
