"""Aggregates for the processing-history website that the ledger module does not offer (all bound
SQLAlchemy selects)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.history import ScoreKey, score_key
from shared.archive.models import AbRecord, Product, Qc1Value, Request


async def raw_types_per_night(
    session: AsyncSession, instrument_mode: str, nights: list[date]
) -> dict[date, Counter[str]]:
    statement = (
        select(AbRecord.night, AbRecord.raw_type, func.count())
        .where(AbRecord.instrument_mode == instrument_mode, AbRecord.night.in_(nights))
        .group_by(AbRecord.night, AbRecord.raw_type)
    )
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for night, raw_type, count in await session.execute(statement):
        counts[night][raw_type] += count
    return counts

async def requests_per_night(session: AsyncSession, instrument_mode: str, nights: list[date]) -> Counter[date]:
    statement = (
        select(Request.night, func.count())
        .where(Request.instrument_mode == instrument_mode, Request.night.in_(nights))
        .group_by(Request.night)
    )
    return Counter({night: count for night, count in await session.execute(statement)})

async def scores_per_night(
    session: AsyncSession, instrument_mode: str, nights: list[date]
) -> dict[date, Counter[ScoreKey]]:
    statement = (
        select(Qc1Value.night, Qc1Value.score, Qc1Value.informational, func.count())
        .where(Qc1Value.instrument_mode == instrument_mode, Qc1Value.night.in_(nights))
        .group_by(Qc1Value.night, Qc1Value.score, Qc1Value.informational)
    )
    counts: dict[date, Counter[ScoreKey]] = defaultdict(Counter)
    for night, score, informational, count in await session.execute(statement):
        counts[night][score_key(score, informational)] += count
    return counts

async def scores_per_ab(session: AsyncSession, instrument_mode: str, night: date) -> dict[str, Counter[ScoreKey]]:
    statement = (
        select(Qc1Value.ab_id, Qc1Value.score, Qc1Value.informational, func.count())
        .where(Qc1Value.instrument_mode == instrument_mode, Qc1Value.night == night)
        .group_by(Qc1Value.ab_id, Qc1Value.score, Qc1Value.informational)
    )
    counts: dict[str, Counter[ScoreKey]] = defaultdict(Counter)
    for ab_id, score, informational, count in await session.execute(statement):
        counts[ab_id][score_key(score, informational)] += count
    return counts

async def products_per_ab(session: AsyncSession, ab_ids: list[str]) -> Counter[str]:
    if not ab_ids:
        return Counter()
    statement = select(Product.ab_id, func.count()).where(Product.ab_id.in_(ab_ids)).group_by(Product.ab_id)
    return Counter({ab_id: count for ab_id, count in await session.execute(statement)})

async def requests_of_night(session: AsyncSession, instrument_mode: str, night: date) -> list[Request]:
    statement = (
        select(Request)
        .where(Request.instrument_mode == instrument_mode, Request.night <= night,
               func.coalesce(Request.night_to, Request.night) >= night)
        .order_by(Request.created_at)
    )
    return list((await session.scalars(statement)).all())

async def instrument_modes(session: AsyncSession) -> list[str]:
    """Modes that have ABs in the ledger."""
    statement = select(AbRecord.instrument_mode).distinct().order_by(AbRecord.instrument_mode)
    return list((await session.scalars(statement)).all())

@dataclass(frozen=True)
class ParameterLine:
    """One QC parameter of one RAW_TYPE over every night: what the QC-trends page lists."""

    raw_type: str
    parameter: str
    unit: str
    measured: int
    ok: int
    outliers: int
    informational: int
    first_night: date
    last_night: date


async def parameter_lines(session: AsyncSession, instrument_mode: str) -> list[ParameterLine]:
    statement = (
        select(
            Qc1Value.raw_type, Qc1Value.parameter, func.max(Qc1Value.unit), func.count(Qc1Value.value),
            func.sum(case((Qc1Value.score == 0, 1), else_=0)), func.sum(case((Qc1Value.score == 1, 1), else_=0)),
            func.sum(case((Qc1Value.informational, 1), else_=0)), func.min(Qc1Value.night), func.max(Qc1Value.night),
        )
        .where(Qc1Value.instrument_mode == instrument_mode)
        .group_by(Qc1Value.raw_type, Qc1Value.parameter)
        .order_by(Qc1Value.raw_type, Qc1Value.parameter)
    )
    return [ParameterLine(*row) for row in await session.execute(statement)]


async def newest_qc1_row(session: AsyncSession) -> int:
    """The highest QC1 row id: it grows whenever a night's QC is recorded (an index look-up)."""
    return await session.scalar(select(func.max(Qc1Value.id))) or 0
