"""INSERT … ON CONFLICT for whichever database the session is on (PostgreSQL or SQLite)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute


def insert(session: AsyncSession, model: type[DeclarativeBase]) -> postgresql.Insert | sqlite.Insert:
    """A dialect insert of `model`, offering `on_conflict_do_nothing` / `on_conflict_do_update`."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def rows_written(session: AsyncSession, statement: postgresql.Insert | sqlite.Insert) -> int:
    """How many rows an INSERT … ON CONFLICT wrote: 0 when the conflict clause skipped them."""
    # Without preserve_rowcount, psycopg reports -1 for INSERT.
    result = await session.execute(statement, execution_options={"preserve_rowcount": True})
    return result.rowcount


async def insert_new(
    session: AsyncSession, model: type[DeclarativeBase], key: Sequence[InstrumentedAttribute], **values: object
) -> bool:
    """Insert one row unless a row with the same `key` columns exists (it is left as it is); True if written."""
    statement = insert(session, model).values(**values).on_conflict_do_nothing(index_elements=list(key))
    return await rows_written(session, statement) == 1
