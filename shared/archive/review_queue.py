"""The review queue as people read it (`phoenix review list`, the portal's /reviews page), on
SQLAlchemy Core: a synchronous function of a `Connection`, so the command starts without the ORM
or asyncio; a service runs it in its session's transaction with `shared.archive.database.read`.
Holding and deciding reviews is `shared.archive.reviews`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection

from shared.archive.tables import ReviewState, reviews


def pending_reviews(connection: Connection, limit: int = 100, offset: int = 0) -> list[Row[Any]]:
    """Open reviews, oldest first."""
    statement = (
        select(reviews)
        .where(reviews.c.state == ReviewState.PENDING)
        .order_by(reviews.c.created_at, reviews.c.ab_id)
        .limit(limit)
        .offset(offset)
    )
    return list(connection.execute(statement).all())
