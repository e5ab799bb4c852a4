"""Schema migrations (Alembic, shipped in `migrations/`), run programmatically.

Every service calls `upgrade_to_head` at start-up, so several may run it at once: on
PostgreSQL the upgrade holds a transaction-scoped advisory lock, on SQLite the engine's
`BEGIN IMMEDIATE` holds the database's write lock; either way the others wait, then find the
schema at head and do nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.archive.database import as_transient
from shared.archive.engine import create_engine
from shared.archive.settings import with_async_driver

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed 64-bit number, the same in every process: the advisory lock guarding migrations.
MIGRATION_LOCK_KEY = 0x70686F656E6978  # "phoenix"


async def upgrade_to_head(url: str) -> str:
    """Bring the database at `url` to the newest schema; return the revision it is at."""
    engine = create_engine(with_async_driver(url))
    try:
        async with engine.begin() as connection:
            await _lock_migrations(connection)
            before = await connection.run_sync(current_revision)
            await connection.run_sync(_upgrade)
    except DBAPIError as error:
        raise as_transient(error) from error
    finally:
        await engine.dispose()
    after = head_revision()
    if before != after:
        logger.info("archive database upgraded from %s to %s", before or "empty", after)
    else:
        logger.info("archive database schema is current (%s)", after)
    return after


async def write_revision(url: str, message: str) -> Path:
    """Autogenerate a new migration from the difference between the models and the database
    at `url` (which should be at head); returns the new file for review."""
    engine = create_engine(with_async_driver(url))
    try:
        async with engine.begin() as connection:
            script = await connection.run_sync(_autogenerate, message)
    finally:
        await engine.dispose()
    return Path(script.path)


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    return head or ""


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _lock_migrations(connection: AsyncConnection) -> None:
    if connection.dialect.name == "postgresql":
        await connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))


def _upgrade(connection: Connection) -> None:
    command.upgrade(_config(connection), "head")


def _autogenerate(connection: Connection, message: str):
    return command.revision(_config(connection), message=message, autogenerate=True)


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config
