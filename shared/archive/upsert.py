"""INSERT … ON CONFLICT for whichever database the session is on (PostgreSQL or SQLite)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache

from sqlalchemy import Executable, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute


def insert(session: AsyncSession, model: type[DeclarativeBase] | Table) -> postgresql.Insert | sqlite.Insert:
    """A dialect insert of `model`, offering `on_conflict_do_nothing` / `on_conflict_do_update`."""
    return _dialect_insert(session.get_bind().dialect.name, model)


def _dialect_insert(dialect: str, model: type[DeclarativeBase] | Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)


def upsert(session: AsyncSession, table: Table, key: str, columns: Iterable[str]) -> postgresql.Insert | sqlite.Insert:
    """INSERT into `table` … ON CONFLICT (`key`) DO UPDATE these columns from the inserted row.

    Every value is a parameter given when executing it, and the statement is built once per
    database and set of columns, so a row written costs no statement building or compiling."""
    return _upsert(session.get_bind().dialect.name, table, key, tuple(columns))


@cache
def _upsert(dialect: str, table: Table, key: str, columns: tuple[str, ...]) -> postgresql.Insert | sqlite.Insert:
    statement = _dialect_insert(dialect, table)
    return statement.on_conflict_do_update(index_elements=[key], set_={name: statement.excluded[name] for name in columns})


@cache
def _insert_new(dialect: str, table: Table, key: tuple[str, ...]) -> postgresql.Insert | sqlite.Insert:
    return _dialect_insert(dialect, table).on_conflict_do_nothing(index_elements=list(key))


async def rows_written(session: AsyncSession, statement: Executable, values: Mapping[str, object] | None = None) -> int:
    """How many rows an INSERT … ON CONFLICT (or an UPDATE) wrote: 0 when the conflict clause skipped them.

    `values` are the statement's parameters: passed apart from the statement, its compiled form
    is cached and reused instead of built anew for every row."""
    # Without preserve_rowcount, psycopg reports -1 for INSERT.
    result = await session.execute(statement, values, execution_options={"preserve_rowcount": True})
    return result.rowcount


async def insert_new(
    session: AsyncSession, model: type[DeclarativeBase], key: Sequence[InstrumentedAttribute], **values: object
) -> bool:
    """Insert one row unless a row with the same `key` columns exists (it is left as it is); True if written."""
    statement = _insert_new(session.get_bind().dialect.name, model.__table__, tuple(k.key for k in key))
    return await rows_written(session, statement, values) == 1
