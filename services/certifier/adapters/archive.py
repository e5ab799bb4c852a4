"""The certifier's side of the archive database: the AB ledger and the review queue."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.certifier.policies import SAMPLED
from shared.archive import ArchiveDatabase, ledger
from shared.archive.models import AbState
from shared.archive.reviews import enqueue_review, held_alike
from shared.contracts import AssociationBlock, Certified, Decision, QcScored

STATE_OF = {Decision.CERTIFIED: AbState.CERTIFIED}
"""Ledger states the certifier records. REJECTED and REVIEW are final states, which only the
ingestor records (once the AB's `ingested` event is out), so nothing reads an AB as finished
before its last event."""


async def night_already_sampled(db: ArchiveDatabase, ab: AssociationBlock) -> bool:
    """Whether RANDOM already sent another zero-score AB of this night and RAW_TYPE to review."""
    async with db.session() as session:
        return await held_alike(session, ab, SAMPLED)


async def record_decision(db: ArchiveDatabase, cause: QcScored, decision: Certified, service: str) -> None:
    """The decision in the AB ledger; an AB held for review also enters the review queue."""
    async with db.session() as session:
        await record_state(session, decision, cause.event_id, service)
        if decision.decision is Decision.REVIEW:
            await enqueue_review(session, cause, decision.reason)


async def record_state(session: AsyncSession, decision: Certified, event_id: uuid.UUID, service: str) -> None:
    if decision.decision not in STATE_OF:
        return
    await ledger.record_ab_state(
        session, decision.ab, STATE_OF[decision.decision],
        event_id=event_id, request_id=decision.correlation_id, service=service, reason=decision.reason,
    )
