"""The certifier's side of the archive database: the AB ledger and the review queue."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.certifier.policies import SAMPLED
from shared.archive import ArchiveDatabase
from shared.archive.ledger import record_ab_state
from shared.archive.models import AbRecord, AbState, AbTransition
from shared.archive.reviews import enqueue_review
from shared.contracts import AssociationBlock, Certified, Decision, QcScored

STATE_OF = {Decision.CERTIFIED: AbState.CERTIFIED, Decision.REJECTED: AbState.REJECTED, Decision.REVIEW: AbState.REVIEW}


async def night_already_sampled(db: ArchiveDatabase, ab: AssociationBlock) -> bool:
    """Whether RANDOM already sent another zero-score AB of this night and RAW_TYPE to review."""
    statement = (
        select(AbTransition.id)
        .join(AbRecord, AbRecord.ab_id == AbTransition.ab_id)
        .where(
            AbRecord.instrument_mode == ab.instrument_mode,
            AbRecord.night == ab.night,
            AbRecord.raw_type == ab.raw_type,
            AbRecord.ab_id != ab.ab_id,
            AbTransition.state == AbState.REVIEW,
            AbTransition.reason.startswith(SAMPLED),
        )
        .limit(1)
    )
    async with db.session() as session:
        return (await session.scalar(statement)) is not None


async def record_decision(db: ArchiveDatabase, cause: QcScored, decision: Certified, service: str) -> None:
    """The decision in the AB ledger; an AB held for review also enters the review queue."""
    async with db.session() as session:
        await record_state(session, decision, cause.event_id, service)
        if decision.decision is Decision.REVIEW:
            await enqueue_review(session, cause, decision.reason)


async def record_state(session: AsyncSession, decision: Certified, event_id: uuid.UUID, service: str) -> None:
    await record_ab_state(
        session, decision.ab, STATE_OF[decision.decision],
        event_id=event_id, request_id=decision.correlation_id, service=service, reason=decision.reason,
    )
