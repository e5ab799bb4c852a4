"""Engines configured for several processes sharing one database: async ones for the services,
and a synchronous one for commands that only read (no ORM, no asyncio: they start fast)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from shared.archive.settings import SYNC_DRIVERS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str | URL) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    # pre-ping replaces connections a restarted server has dropped instead of failing a handler
    return create_async_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def create_reading_engine(url: str | URL) -> Engine:
    """A synchronous engine on the same database, for reading: every transaction a plain
    (deferred) one, so a reader never takes SQLite's write lock."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    engine = sqlalchemy.create_engine(parsed.set(drivername=SYNC_DRIVERS.get(backend, backend)))
    if backend == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_deferred)
    return engine


def _sqlite_engine(url: URL) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine

    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: object) -> None:
    # The driver's own implicit BEGIN is switched off: `_begin_immediate` starts every transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
    ):
        cursor.execute(pragma)
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
    # another process wrote in between (the busy timeout does not help there). Taking the
    # write lock at BEGIN makes concurrent writers wait their turn instead; this also
    # serialises concurrent migrations.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")
