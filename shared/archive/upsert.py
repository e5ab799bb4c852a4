"""INSERT … ON CONFLICT for whichever database the session is on (PostgreSQL or SQLite)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


def insert(session: AsyncSession, model: type[DeclarativeBase]) -> postgresql.Insert | sqlite.Insert:
    """A dialect insert of `model`, offering `on_conflict_do_nothing` / `on_conflict_do_update`."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
