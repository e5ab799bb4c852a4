"""The QC1 database: every measured QC parameter, its score, and the history thresholds use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from operator import attrgetter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.archive.models import AbRecord, AbState, Qc1Value
from shared.archive.types import utc_now
from shared.archive.upsert import insert
from shared.contracts import AssociationBlock, QcScore

CERTIFIED_AB_STATES = (AbState.CERTIFIED, AbState.INGESTED)
SCORE_FIELDS_COMPARED = ("value", "unit", "score", "informational", "grade", "message", "threshold_set")
COMPARED_ON_RESCORE = (*SCORE_FIELDS_COMPARED, "setting_key")
"""What a rescored value is compared on: a row equal in all of them is left as it is (measured_at too)."""
REPLACED_ON_RESCORE = (*COMPARED_ON_RESCORE, "measured_at")


def setting_key_of(match_key: Mapping[str, str]) -> str:
    """A stable text key for an instrument setting, e.g. 'DET.WIN1.BINX=2,INS.GRAT1.WLEN=390'."""
    return ",".join(f"{name}={value}" for name, value in sorted(match_key.items()))


async def record_qc_scores(
    session: AsyncSession,
    ab: AssociationBlock,
    scores: Iterable[QcScore],
    *,
    setting_key: str | None = None,
    measured_at: datetime | None = None,
) -> int:
    """Store an AB's QC parameters; rescoring replaces the values of the same (AB, product,
    parameter) that changed and leaves those that did not (an unchanged reprocessing writes
    nothing after one read). `setting_key` defaults to the AB's RAW_MATCH_KEY. Returns how many
    were written."""
    setting_key = setting_key if setting_key is not None else setting_key_of(ab.raw_match_key)
    scores = list(scores)
    stored = await _stored_values(session, ab.ab_id) if scores else {}
    changed = [score for score in scores if stored.get((score.product, score.parameter)) != _compared(score, setting_key)]
    measured_at = measured_at or utc_now()
    rows = [
        {
            "ab_id": ab.ab_id,
            "instrument_mode": ab.instrument_mode,
            "night": ab.night,
            "raw_type": ab.raw_type,
            "setting_key": setting_key,
            "product": score.product,
            "parameter": score.parameter,
            "value": score.value,
            "unit": score.unit,
            "score": score.score,
            "informational": score.informational,
            "grade": score.grade,
            "message": score.message,
            "threshold_set": score.threshold_set,
            "measured_at": measured_at,
        }
        for score in changed
    ]
    if not rows:
        return 0
    statement = insert(session, Qc1Value)
    statement = statement.on_conflict_do_update(
        index_elements=[Qc1Value.ab_id, Qc1Value.product, Qc1Value.parameter],
        set_={name: statement.excluded[name] for name in REPLACED_ON_RESCORE},
    )
    await session.execute(statement, rows)
    return len(rows)


async def _stored_values(session: AsyncSession, ab_id: str) -> dict[tuple[str, str], tuple[object, ...]]:
    """The AB's stored values by (product, parameter), as `_compared` gives them."""
    columns = [getattr(Qc1Value, name) for name in COMPARED_ON_RESCORE]
    rows = await session.execute(select(Qc1Value.product, Qc1Value.parameter, *columns).where(Qc1Value.ab_id == ab_id))
    return {(product, parameter): tuple(values) for product, parameter, *values in rows}


_score_fields_compared = attrgetter(*SCORE_FIELDS_COMPARED)


def _compared(score: QcScore, setting_key: str) -> tuple[object, ...]:
    """A score's values in the order of COMPARED_ON_RESCORE."""
    return (*_score_fields_compared(score), setting_key)


async def qc1_of_ab(session: AsyncSession, ab_id: str) -> list[Qc1Value]:
    statement = select(Qc1Value).where(Qc1Value.ab_id == ab_id).order_by(Qc1Value.product, Qc1Value.parameter)
    return list((await session.scalars(statement)).all())


async def last_certified_values(
    session: AsyncSession,
    instrument_mode: str,
    raw_type: str,
    limits: Mapping[str, int],
    *,
    before: date,
    setting_key: str = "",
) -> dict[str, list[float]]:
    """For each parameter in `limits` (name → how many), its last measured values from ABs of this
    instrument mode, RAW_TYPE and setting that were certified (or ingested), from nights before
    `before`; newest first, every parameter in one query. The history statistical thresholds are
    computed from."""
    if not limits:
        return {}
    newest_first = func.row_number().over(
        partition_by=Qc1Value.parameter, order_by=(Qc1Value.night.desc(), Qc1Value.measured_at.desc(), Qc1Value.id.desc())
    )
    ranked = (
        select(Qc1Value.parameter, Qc1Value.value, newest_first.label("rank"))
        .join(AbRecord, AbRecord.ab_id == Qc1Value.ab_id)
        .where(
            Qc1Value.instrument_mode == instrument_mode,
            Qc1Value.raw_type == raw_type,
            Qc1Value.setting_key == setting_key,
            Qc1Value.parameter.in_(list(limits)),
            Qc1Value.night < before,
            Qc1Value.value.is_not(None),
            AbRecord.state.in_(CERTIFIED_AB_STATES),
        )
        .subquery()
    )
    statement = (
        select(ranked.c.parameter, ranked.c.value)
        .where(ranked.c.rank <= max(limits.values()))
        .order_by(ranked.c.parameter, ranked.c.rank)
    )
    values: dict[str, list[float]] = {parameter: [] for parameter in limits}
    for parameter, value in await session.execute(statement):
        if len(values[parameter]) < limits[parameter]:
            values[parameter].append(value)
    return values


async def parameter_trend(
    session: AsyncSession,
    instrument_mode: str,
    parameter: str,
    *,
    night_from: date,
    night_to: date,
    raw_type: str | None = None,
    setting_key: str | None = None,
) -> list[Qc1Value]:
    """Values of `parameter` over a range of nights (inclusive), oldest first, for trend plots."""
    statement = select(Qc1Value).where(
        Qc1Value.instrument_mode == instrument_mode,
        Qc1Value.parameter == parameter,
        Qc1Value.night >= night_from,
        Qc1Value.night <= night_to,
    )
    if raw_type is not None:
        statement = statement.where(Qc1Value.raw_type == raw_type)
    if setting_key is not None:
        statement = statement.where(Qc1Value.setting_key == setting_key)
    statement = statement.order_by(Qc1Value.night, Qc1Value.measured_at, Qc1Value.id)
    return list((await session.scalars(statement)).all())
