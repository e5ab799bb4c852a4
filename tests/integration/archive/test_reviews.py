"""The review queue: holding, redelivery, reopening and deciding."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from shared.archive import ArchiveDatabase
from shared.archive.database import read
from shared.archive.models import ReviewState
from shared.archive.review_queue import pending_reviews
from shared.archive.reviews import decide_review, enqueue_review, get_review, held_alike
from shared.contracts import ProcessStatus, QcScore, QcScored
from shared.errors import DataError
from tests.integration.archive.conftest import make_ab


def scored(ab_id: str = "AB.1") -> QcScored:
    return QcScored(
        correlation_id=uuid.uuid4(), ab=make_ab(ab_id), status=ProcessStatus.SUCCESSFUL,
        scores=[QcScore(product="p.fits", parameter="QC.X", value=9.0, score=1)],
    )


async def test_a_held_ab_waits_with_its_event(db: ArchiveDatabase) -> None:
    event = scored()
    async with db.session() as s:
        review = await enqueue_review(s, event, "QC.X scored 1")
    assert (review.state, review.reason, review.decided_at) == (ReviewState.PENDING, "QC.X scored 1", None)
    async with db.session() as s:
        (pending,) = await read(s, pending_reviews)
    assert QcScored.model_validate(pending.event) == event


async def test_the_same_event_again_keeps_the_decision(db: ArchiveDatabase) -> None:
    event = scored()
    async with db.session() as s:
        await enqueue_review(s, event, "held")
    async with db.session() as s:
        await decide_review(s, "AB.1", accept=True, decided_by="alice", comment="fine")
    async with db.session() as s:
        again = await enqueue_review(s, event, "held")
    assert (again.state, again.decided_by, again.comment) == (ReviewState.ACCEPTED, "alice", "fine")


async def test_a_new_event_for_the_ab_reopens_its_review(db: ArchiveDatabase) -> None:
    async with db.session() as s:
        await enqueue_review(s, scored(), "first")
        await decide_review(s, "AB.1", accept=False, decided_by="bob")
    reprocessed = scored()
    async with db.session() as s:
        reopened = await enqueue_review(s, reprocessed, "second")
    assert (reopened.state, reopened.reason, reopened.decided_by, reopened.event_id) == (
        ReviewState.PENDING, "second", None, reprocessed.event_id
    )


async def test_deciding(db: ArchiveDatabase) -> None:
    async with db.session() as s:
        await enqueue_review(s, scored("AB.1"), "held")
        await enqueue_review(s, scored("AB.2"), "held")
    async with db.session() as s:
        decided = await decide_review(s, "AB.2", accept=False, decided_by="carol", comment="bad orders")
    assert decided.state == ReviewState.REJECTED and decided.decided_at is not None
    async with db.session() as s:
        assert [r.ab_id for r in await read(s, pending_reviews)] == ["AB.1"]
        stored = await get_review(s, "AB.2")
    assert stored is not None and (stored.decided_by, stored.comment) == ("carol", "bad orders")
    with pytest.raises(DataError, match="already decided"):
        async with db.session() as s:
            await decide_review(s, "AB.2", accept=True, decided_by="dave")
    with pytest.raises(DataError, match="no review"):
        async with db.session() as s:
            await decide_review(s, "AB.404", accept=True, decided_by="dave")


async def test_an_ab_held_for_the_same_reason_on_the_same_night_and_raw_type_is_found(db: ArchiveDatabase) -> None:
    held = scored("UVES_ECHELLE.2024-03-01.BIAS_BLUE.1")
    async with db.session() as s:
        await enqueue_review(s, held, "randomly sampled (first good AB of the night)")
    alike = make_ab("UVES_ECHELLE.2024-03-01.BIAS_BLUE.2")
    async with db.session() as s:
        assert await held_alike(s, alike, "randomly sampled")
        assert not await held_alike(s, held.ab, "randomly sampled"), "the AB itself does not count"
        assert not await held_alike(s, alike, "1 QC parameter(s) scored 1")
        assert not await held_alike(s, make_ab("UVES_ECHELLE.2024-03-02.BIAS_BLUE.3", night=date(2024, 3, 2)),
                                    "randomly sampled")
        assert not await held_alike(s, make_ab("UVES_ECHELLE.2024-03-01.FLAT_BLUE.4", raw_type="FLAT_BLUE"),
                                    "randomly sampled")
