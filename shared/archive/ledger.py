"""The ledger of date requests, campaigns and AB states, and the processing history.

It is what `phoenix reconcile` re-publishes from after a real outage that lost Kafka's
messages, and what the processing-history website shows. Campaign progress and the lists of
requests that `phoenix status` shows are read by `shared.campaigns` (Core, no ORM).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.archive.models import AbRecord, AbState, AbTransition, Campaign, Request, RequestState
from shared.archive.types import utc_now
from shared.archive.upsert import insert, insert_new, rows_written, upsert
from shared.contracts import (
    AssociationBlock,
    Certified,
    DataStaged,
    DateRequested,
    ProcessingMode,
    ProductsReady,
    QcScored,
)
from shared.lifecycle import RETRYABLE, check_transition, is_final, request_finished, request_summary

AbEvent = DataStaged | ProductsReady | QcScored | Certified
"""An event about one AB, whose handling moves the AB on."""


@dataclass(frozen=True)
class NightSummary:
    """One line of the processing-history website."""

    night: date
    calibration_abs: int = 0
    science_abs: int = 0
    states: dict[AbState, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.calibration_abs + self.science_abs

    @property
    def ingested(self) -> int:
        return self.states.get(AbState.INGESTED, 0)

    @property
    def failed(self) -> int:
        return self.states.get(AbState.FAILED, 0)


async def record_request(
    session: AsyncSession, request: DateRequested, *, rules_version: str = "", pipeline_version: str = ""
) -> bool:
    """Enter a date request as RECEIVED; False if it was already there (a redelivery)."""
    now = utc_now()
    return await insert_new(
        session,
        Request,
        [Request.request_id],
        request_id=request.request_id,
        instrument_mode=request.instrument_mode,
        night=request.night,
        night_to=request.night_to,
        mode=request.mode.value,
        campaign_id=request.campaign_id,
        priority=request.priority,
        reprocess=request.reprocess,
        state=RequestState.RECEIVED,
        reason="",
        rules_version=rules_version,
        pipeline_version=pipeline_version,
        created_at=now,
        updated_at=now,
    )


async def set_request_state(session: AsyncSession, request_id: uuid.UUID, state: RequestState, reason: str = "") -> bool:
    """False if the request is unknown."""
    statement = (
        update(Request)
        .where(Request.request_id == request_id)
        .values(state=state, reason=reason, updated_at=utc_now())
    )
    return (await session.execute(statement)).rowcount == 1


async def finish_request_if_done(session: AsyncSession, request_id: uuid.UUID) -> bool:
    """Mark a FETCHED request DONE once every AB it owns is final (or it owns none); True if it did.

    The reason starts with the count of its ABs per final state, before what the fetcher reported.
    """
    request = await get_request(session, request_id)
    if request is None or request.state is not RequestState.FETCHED:
        return False
    states = list(await session.scalars(select(AbRecord.state).where(AbRecord.request_id == request_id)))
    if not request_finished(request.state, states):
        return False
    summary = request_summary(states)
    reason = f"{summary}; {request.reason}" if request.reason else summary
    return await set_request_state(session, request_id, RequestState.DONE, reason)


async def get_request(session: AsyncSession, request_id: uuid.UUID) -> Request | None:
    return await session.get(Request, request_id)


async def record_campaign(
    session: AsyncSession,
    campaign_id: str,
    instrument_mode: str,
    night_from: date,
    night_to: date,
    mode: ProcessingMode,
    description: str = "",
) -> bool:
    """Enter a campaign; False if one with this id exists (it is left as it is)."""
    return await insert_new(
        session,
        Campaign,
        [Campaign.campaign_id],
        campaign_id=campaign_id,
        instrument_mode=instrument_mode,
        night_from=night_from,
        night_to=night_to,
        mode=mode.value,
        description=description,
        created_at=utc_now(),
    )


async def requests_of_campaign(session: AsyncSession, campaign_id: str) -> list[Request]:
    statement = select(Request).where(Request.campaign_id == campaign_id).order_by(Request.night)
    return list((await session.scalars(statement)).all())


async def record_ab_state(
    session: AsyncSession,
    ab: AssociationBlock,
    state: AbState,
    *,
    event_id: uuid.UUID,
    request_id: uuid.UUID,
    service: str,
    reason: str = "",
    at: datetime | None = None,
    only_from: AbState | None = None,
) -> bool:
    """Record that `ab` reached `state` because of event `event_id`: a history row, and the AB
    (inserted or brought up to date) in the ledger. A final state finishes the request once
    every AB it owns is final.

    Idempotent: the same (AB, event, state) recorded again changes nothing and returns False.
    A transition the lifecycle does not allow raises `TransitionRefused` (a DataError).

    With `only_from` the AB moves only if it is in that state now, by one conditional update:
    of two writers at once (two producers' `ingested` events releasing one WAITING AB) exactly
    one moves it and gets True, on SQLite and on PostgreSQL.
    """
    current, recorded = await _state_and_recorded(session, ab.ab_id, event_id, state)
    if recorded:
        return False
    current = only_from or current
    check_transition(ab.ab_id, current, state)
    at = at or utc_now()
    columns = _ab_columns(ab, state, request_id=request_id, reason=reason, at=at)
    if only_from is None:
        await session.execute(upsert(session, AbRecord.__table__, AbRecord.ab_id.key, columns), {"ab_id": ab.ab_id, "created_at": at, **columns})
    else:
        moved = update(AbRecord).where(AbRecord.ab_id == ab.ab_id, AbRecord.state == only_from).values(**columns)
        if await rows_written(session, moved) != 1:
            return False
    # The unique (ab_id, event_id, state) constraint is the guard should the same event be
    # recorded concurrently; both writers then wrote the same AB row anyway.
    written = await _add_transition(session, ab.ab_id, state, reason=reason, event_id=event_id, service=service, at=at)
    if is_final(state):
        await finish_request_if_done(session, request_id)
    return written


async def record_step(session: AsyncSession, cause: AbEvent, state: AbState, service: str, reason: str = "") -> bool:
    """Record that the AB of `cause` (the input event a service handles) reached `state` because of it."""
    return await record_ab_state(session, cause.ab, state, event_id=cause.event_id, request_id=cause.correlation_id,
                                 service=service, reason=reason)


async def _add_transition(
    session: AsyncSession, ab_id: str, state: AbState, *, reason: str, event_id: uuid.UUID, service: str, at: datetime
) -> bool:
    """A history row, unless this (AB, event, state) has one; True if written."""
    key = [AbTransition.ab_id, AbTransition.event_id, AbTransition.state]
    return await insert_new(session, AbTransition, key, ab_id=ab_id, state=state, reason=reason, event_id=event_id,
                            service=service, at=at)


async def claim_ab(
    session: AsyncSession, ab: AssociationBlock, *, event_id: uuid.UUID, request_id: uuid.UUID, service: str
) -> bool:
    """Make `request_id` the owner of `ab` (state CREATED) unless another request already owns it and
    it is not RETRYABLE (in flight, waiting, ingested or in review). False when another request owns it.

    Taking an AB from another request is atomic on both databases (one INSERT … ON CONFLICT DO
    UPDATE … WHERE), so two requests for one night never both stage it. The owning request's
    redelivered event gets True and changes nothing.
    """
    owner = await session.scalar(select(AbRecord.request_id).where(AbRecord.ab_id == ab.ab_id))
    if owner == request_id:
        return True  # this request's event again (a redelivery): its AB keeps the state it reached
    at = utc_now()
    columns = _ab_columns(ab, AbState.CREATED, request_id=request_id, reason="", at=at)
    statement = (
        insert(session, AbRecord)
        .values(ab_id=ab.ab_id, created_at=at, **columns)
        .on_conflict_do_update(
            index_elements=[AbRecord.ab_id], set_=columns,
            where=AbRecord.state.in_(RETRYABLE),
        )
    )
    if await rows_written(session, statement) == 0:
        return False
    await _add_transition(session, ab.ab_id, AbState.CREATED, reason="", event_id=event_id, service=service, at=at)
    return True


async def _state_and_recorded(session: AsyncSession, ab_id: str, event_id: uuid.UUID, state: AbState
                              ) -> tuple[AbState | None, bool]:
    """The AB's current state (None if not in the ledger) and whether this (AB, event, state) is
    recorded already, in one round trip."""
    row = (await session.execute(_STATE_AND_RECORDED, {"ab_id": ab_id, "event_id": event_id, "state": state})).one()
    return row[0], bool(row[1])


_STATE_AND_RECORDED = select(
    select(AbRecord.state).where(AbRecord.ab_id == bindparam("ab_id")).scalar_subquery(),
    exists().where(AbTransition.ab_id == bindparam("ab_id"), AbTransition.event_id == bindparam("event_id"),
                   AbTransition.state == bindparam("state")),
)




def _ab_columns(
    ab: AssociationBlock, state: AbState, *, request_id: uuid.UUID, reason: str, at: datetime
) -> dict[str, object]:
    return {
        "request_id": request_id,
        "instrument_mode": ab.instrument_mode,
        "night": ab.night,
        "mode": ab.mode.value,
        "dpr_catg": ab.dpr_catg,
        "raw_type": ab.raw_type,
        "recipe": ab.recipe,
        "completeness": ab.completeness.value,
        "state": state,
        "reason": reason,
        "ab": ab.model_dump(mode="json"),
        "depends_on": list(ab.depends_on),
        "updated_at": at,
    }


async def get_ab(session: AsyncSession, ab_id: str) -> AbRecord | None:
    return await session.get(AbRecord, ab_id)


async def ab_states(session: AsyncSession, ab_ids: Iterable[str]) -> dict[str, AbState]:
    """Current state of each known AB among `ab_ids` (e.g. to check an AB's dependencies)."""
    wanted = list(ab_ids)
    if not wanted:
        return {}
    rows = await session.execute(select(AbRecord.ab_id, AbRecord.state).where(AbRecord.ab_id.in_(wanted)))
    return {ab_id: state for ab_id, state in rows}


async def abs_of_request(session: AsyncSession, request_id: uuid.UUID) -> list[AbRecord]:
    statement = select(AbRecord).where(AbRecord.request_id == request_id).order_by(AbRecord.ab_id)
    return list((await session.scalars(statement)).all())


async def abs_of_night(session: AsyncSession, instrument_mode: str, night: date) -> list[AbRecord]:
    statement = (
        select(AbRecord)
        .where(AbRecord.instrument_mode == instrument_mode, AbRecord.night == night)
        .order_by(AbRecord.ab_id)
    )
    return list((await session.scalars(statement)).all())


async def staged_by_event(session: AsyncSession, event_id: uuid.UUID) -> list[AbRecord]:
    """ABs that event `event_id` released and that are still STAGED: a redelivered event
    publishes them again, in case its first handling ended before its outputs were sent."""
    released = select(AbTransition.ab_id).where(AbTransition.event_id == event_id, AbTransition.state == AbState.STAGED)
    statement = select(AbRecord).where(AbRecord.ab_id.in_(released), AbRecord.state == AbState.STAGED)
    return list((await session.scalars(statement.order_by(AbRecord.ab_id))).all())


async def may_release(session: AsyncSession, instrument_mode: str, event_id: uuid.UUID) -> bool:
    """Whether an `ingested` event can have anything to release, in one round trip: some AB of
    the mode is WAITING, or the event released ABs before (it is redelivered). False is final;
    True means `waiting_abs` and `staged_by_event` have to tell."""
    waiting = exists().where(AbRecord.state == AbState.WAITING, AbRecord.instrument_mode == instrument_mode)
    released = exists().where(AbTransition.event_id == event_id, AbTransition.state == AbState.STAGED)
    return bool(await session.scalar(select(or_(waiting, released))))


async def waiting_abs(session: AsyncSession, instrument_mode: str | None = None) -> list[AbRecord]:
    """ABs in WAITING (for the certified products of the ABs they depend on), oldest first."""
    statement = select(AbRecord).where(AbRecord.state == AbState.WAITING).order_by(AbRecord.created_at, AbRecord.ab_id)
    if instrument_mode is not None:
        statement = statement.where(AbRecord.instrument_mode == instrument_mode)
    return list((await session.scalars(statement)).all())


async def ab_history(session: AsyncSession, ab_id: str) -> list[AbTransition]:
    """Every recorded transition of one AB, in the order they were recorded."""
    statement = select(AbTransition).where(AbTransition.ab_id == ab_id).order_by(AbTransition.at, AbTransition.id)
    return list((await session.scalars(statement)).all())


async def nights_summary(
    session: AsyncSession, instrument_mode: str, night_from: date | None = None, night_to: date | None = None
) -> list[NightSummary]:
    """Per night (newest first): calibration and science AB counts and counts per current state."""
    statement = (
        select(AbRecord.night, AbRecord.dpr_catg, AbRecord.state, func.count())
        .where(AbRecord.instrument_mode == instrument_mode)
        .group_by(AbRecord.night, AbRecord.dpr_catg, AbRecord.state)
    )
    if night_from is not None:
        statement = statement.where(AbRecord.night >= night_from)
    if night_to is not None:
        statement = statement.where(AbRecord.night <= night_to)
    return _summaries(await session.execute(statement))


def _summaries(rows: Iterable[tuple[date, str, AbState, int]]) -> list[NightSummary]:
    calibration: Counter[date] = Counter()
    science: Counter[date] = Counter()
    states: dict[date, Counter[AbState]] = {}
    for night, dpr_catg, state, count in rows:
        (science if "SCIENCE" in dpr_catg.upper() else calibration)[night] += count
        states.setdefault(night, Counter())[state] += count
    return [
        NightSummary(night, calibration[night], science[night], dict(states[night]))
        for night in sorted(states, reverse=True)
    ]
