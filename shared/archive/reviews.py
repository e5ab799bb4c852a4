"""The certifier's review queue: ABs held for a person, with the event a decision continues.
The pending reviews are read by `shared.archive.review_queue` (Core, no ORM)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.archive.models import Review, ReviewState
from shared.archive.types import utc_now
from shared.archive.upsert import insert
from shared.contracts import AssociationBlock, QcScored
from shared.errors import DataError


async def enqueue_review(session: AsyncSession, event: QcScored, reason: str) -> Review:
    """Hold an AB for review. A new qc-scored event for the same AB (reprocessing) reopens its
    review; the same event delivered again leaves the review, and any decision, as it is."""
    now = utc_now()
    reopened = {
        "state": ReviewState.PENDING,
        "reason": reason,
        "event": event.model_dump(mode="json"),
        "event_id": event.event_id,
        "decided_by": None,
        "comment": None,
        "created_at": now,
        "decided_at": None,
    }
    statement = insert(session, Review).values(ab_id=event.ab.ab_id, **reopened)
    statement = statement.on_conflict_do_update(
        index_elements=[Review.ab_id],
        set_=reopened,
        where=Review.event_id != statement.excluded.event_id,
    )
    await session.execute(statement)
    return await _fresh_review(session, event.ab.ab_id)


async def get_review(session: AsyncSession, ab_id: str) -> Review | None:
    return await session.get(Review, ab_id)


async def decide_review(
    session: AsyncSession,
    ab_id: str,
    *,
    accept: bool,
    decided_by: str,
    comment: str = "",
    at: datetime | None = None,
) -> Review:
    """Accept or reject a pending review. `QcScored.model_validate(review.event)` gives the
    event to carry on with. DataError if there is no pending review of this AB."""
    review = await session.scalar(select(Review).where(Review.ab_id == ab_id).with_for_update())
    if review is None:
        raise DataError(f"no review of AB {ab_id}")
    if review.state != ReviewState.PENDING:
        raise DataError(f"the review of AB {ab_id} was already decided: {review.state} by {review.decided_by}")
    review.state = ReviewState.ACCEPTED if accept else ReviewState.REJECTED
    review.decided_by = decided_by
    review.comment = comment
    review.decided_at = at or utc_now()
    await session.flush()
    return review


async def _fresh_review(session: AsyncSession, ab_id: str) -> Review:
    # populate_existing: the upsert bypassed the ORM, so an already loaded object may be stale.
    statement = select(Review).where(Review.ab_id == ab_id).execution_options(populate_existing=True)
    return (await session.scalars(statement)).one()


async def held_alike(session: AsyncSession, ab: AssociationBlock, reason_prefix: str) -> bool:
    """Whether another AB of the same instrument mode, night and RAW_TYPE is held with a reason
    starting with `reason_prefix`. Read from the held events' AB in the database, one row at most,
    so it costs the same however long the queue grows."""
    held = Review.event["ab"]
    statement = select(exists().where(
        Review.reason.startswith(reason_prefix, autoescape=True),
        Review.ab_id != ab.ab_id,
        held["instrument_mode"].as_string() == ab.instrument_mode,
        held["night"].as_string() == ab.night.isoformat(),
        held["raw_type"].as_string() == ab.raw_type,
    ))
    return bool(await session.scalar(statement))
