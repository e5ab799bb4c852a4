"""Migrations to head on an empty database, again on a current one, and from two tasks at once."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.migrate import head_revision
from shared.archive.models import Base
from shared.cli import main

TABLES = {
    "requests", "campaigns", "association_blocks", "ab_history", "qc1_values", "reviews", "products",
    "product_provenance", "product_files", "calibrations", "releases", "api_tokens",
}


async def table_names(url: str) -> set[str]:
    database = ArchiveDatabase(url)
    try:
        async with database.engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await database.close()


async def schema_differences(url: str) -> list[object]:
    database = ArchiveDatabase(url)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata)
            )
    finally:
        await database.close()


async def test_upgrade_creates_every_table_on_an_empty_database(database_url: str) -> None:
    assert await upgrade_to_head(database_url) == head_revision()
    assert TABLES <= await table_names(database_url)


async def test_upgrade_again_is_a_no_op(database_url: str) -> None:
    await upgrade_to_head(database_url)
    assert await upgrade_to_head(database_url) == head_revision()


@pytest.mark.filterwarnings("ignore:.*expression-based index")
async def test_migrations_create_exactly_the_models(database_url: str) -> None:
    await upgrade_to_head(database_url)
    assert await schema_differences(database_url) == []


async def test_two_tasks_upgrading_at_once_both_reach_head(database_url: str) -> None:
    revisions = await asyncio.gather(upgrade_to_head(database_url), upgrade_to_head(database_url))
    assert revisions == [head_revision(), head_revision()]
    assert TABLES <= await table_names(database_url)


async def test_db_upgrade_command(database_url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PHOENIX_DATABASE_URL", database_url)
    assert await asyncio.to_thread(main, ["db", "upgrade"]) == 0
    assert head_revision() in capsys.readouterr().out
    assert TABLES <= await table_names(database_url)


async def test_sqlite_connections_share_the_file_safely(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'phoenix.db'}"
    database = ArchiveDatabase(url)
    try:
        async with database.engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy_timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
    finally:
        await database.close()
    assert (journal, foreign_keys) == ("wal", 1)
    assert busy_timeout >= 1000
