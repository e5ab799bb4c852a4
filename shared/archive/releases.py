"""Releases: named, described batches of an IDP stream (e.g. UVES_ECHELLE IDP)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.archive.models import Release
from shared.archive.upsert import insert


async def save_release(
    session: AsyncSession,
    name: str,
    *,
    stream: str,
    release_date: date,
    description: str,
    threshold_set: str | None = None,
) -> Release:
    """Create a release or update its stream, date, description (markdown) and threshold set."""
    columns = {
        "stream": stream,
        "release_date": release_date,
        "description": description,
        "threshold_set": threshold_set,
    }
    statement = (
        insert(session, Release)
        .values(name=name, **columns)
        .on_conflict_do_update(index_elements=[Release.name], set_=columns)
    )
    await session.execute(statement)
    fresh = select(Release).where(Release.name == name).execution_options(populate_existing=True)
    return (await session.scalars(fresh)).one()


async def get_release(session: AsyncSession, name: str) -> Release | None:
    return await session.get(Release, name)


async def list_releases(session: AsyncSession, stream: str | None = None) -> list[Release]:
    """Newest first."""
    statement = select(Release).order_by(Release.release_date.desc(), Release.name)
    if stream is not None:
        statement = statement.where(Release.stream == stream)
    return list((await session.scalars(statement)).all())
