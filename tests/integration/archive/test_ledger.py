"""Requests, campaigns, AB states and the processing history."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from shared.archive import ArchiveDatabase
from shared.archive.database import read
from shared.archive.ledger import (
    ab_history,
    ab_states,
    abs_of_night,
    abs_of_request,
    claim_ab,
    get_ab,
    get_request,
    may_release,
    nights_summary,
    record_ab_state,
    record_campaign,
    record_request,
    requests_of_campaign,
    set_request_state,
    staged_by_event,
    waiting_abs,
)
from shared.archive.models import AbState, RequestState
from shared.campaigns import campaign_named, unfinished_requests
from shared.contracts import DateRequested, ProcessingMode
from tests.integration.archive.conftest import make_ab

REQUEST_ID = uuid.UUID("3f0c1e52-2f6c-4c7e-a2f1-0d6f1f7c9b10")


def date_request(request_id: uuid.UUID = REQUEST_ID, campaign_id: str | None = None) -> DateRequested:
    return DateRequested(
        correlation_id=request_id, instrument_mode="UVES_ECHELLE", night=date(2024, 3, 1),
        night_to=date(2024, 3, 3), mode=ProcessingMode.COMPLETE, campaign_id=campaign_id, priority=7,
    )


async def record(db: ArchiveDatabase, ab, state: AbState, event_id: uuid.UUID, reason: str = "") -> bool:
    async with db.session() as s:
        return await record_ab_state(
            s, ab, state, event_id=event_id, request_id=REQUEST_ID, service="test", reason=reason
        )


async def test_a_request_is_recorded_once_and_its_state_follows(db: ArchiveDatabase) -> None:
    async with db.session() as s:
        assert await record_request(s, date_request(), rules_version="uves.oca@1", pipeline_version="uves-6.1.8")
    async with db.session() as s:
        assert not await record_request(s, date_request())
        assert await set_request_state(s, REQUEST_ID, RequestState.FETCHED)
        assert not await set_request_state(s, uuid.uuid4(), RequestState.DONE)
    async with db.session() as s:
        request = await get_request(s, REQUEST_ID)
        unfinished = await read(s, unfinished_requests)
    assert request is not None
    assert (request.state, request.priority, request.night_to, request.mode) == (
        RequestState.FETCHED, 7, date(2024, 3, 3), "COMPLETE"
    )
    assert request.rules_version == "uves.oca@1"
    assert request.updated_at.tzinfo is not None
    assert [r.request_id for r in unfinished] == [REQUEST_ID]


async def test_campaigns_and_their_requests(db: ArchiveDatabase) -> None:
    async with db.session() as s:
        assert await record_campaign(
            s, "uves-2015", "UVES_ECHELLE", date(2015, 1, 1), date(2015, 12, 31), ProcessingMode.MCALIB, "all of 2015"
        )
        assert not await record_campaign(
            s, "uves-2015", "UVES_ECHELLE", date(2015, 1, 1), date(2015, 1, 2), ProcessingMode.IDP
        )
        await record_request(s, date_request(campaign_id="uves-2015"))
        await record_request(s, date_request(uuid.uuid4()))
    async with db.session() as s:
        campaign = await read(s, campaign_named, "uves-2015")
        requests = await requests_of_campaign(s, "uves-2015")
    assert campaign is not None and campaign.night_to == date(2015, 12, 31)
    assert [r.request_id for r in requests] == [REQUEST_ID]


async def test_recording_the_same_event_twice_changes_nothing(db: ArchiveDatabase) -> None:
    ab = make_ab()
    staged = uuid.uuid4()
    assert await record(db, ab, AbState.CREATED, uuid.uuid4())
    assert await record(db, ab, AbState.STAGED, staged)
    async with db.session() as s:
        before = await get_ab(s, ab.ab_id)
    assert not await record(db, ab, AbState.STAGED, staged, reason="redelivered")
    async with db.session() as s:
        after = await get_ab(s, ab.ab_id)
        history = await ab_history(s, ab.ab_id)
    assert [t.state for t in history] == [AbState.CREATED, AbState.STAGED]
    assert after is not None and before is not None
    assert (after.state, after.reason, after.updated_at) == (before.state, before.reason, before.updated_at)


async def test_the_ab_row_keeps_the_full_ab_and_the_latest_state(db: ArchiveDatabase) -> None:
    ab = make_ab(depends_on=("UVES_ECHELLE.2024-03-01.BIAS_BLUE.0000",))
    await record(db, ab, AbState.CREATED, uuid.uuid4())
    await record(db, ab, AbState.FAILED, uuid.uuid4(), reason="recipe exited 1")
    async with db.session() as s:
        row = await get_ab(s, ab.ab_id)
        history = await ab_history(s, ab.ab_id)
    assert row is not None
    assert (row.state, row.reason, row.raw_type, row.request_id) == (
        AbState.FAILED, "recipe exited 1", "BIAS_BLUE", REQUEST_ID
    )
    assert row.depends_on == ["UVES_ECHELLE.2024-03-01.BIAS_BLUE.0000"]
    assert type(ab).model_validate(row.ab) == ab
    assert row.created_at <= row.updated_at
    assert [(t.state, t.service) for t in history] == [(AbState.CREATED, "test"), (AbState.FAILED, "test")]
    assert all(t.at.tzinfo == UTC for t in history)


async def test_abs_by_request_night_state_and_waiting(db: ArchiveDatabase) -> None:
    bias = make_ab("AB.BIAS")
    science = make_ab("AB.SCI", raw_type="SCI_POINT_BLUE", dpr_catg="SCIENCE", depends_on=("AB.BIAS",))
    other_night = make_ab("AB.NEXT", night=date(2024, 3, 2))
    await record(db, bias, AbState.STAGED, uuid.uuid4())
    await record(db, science, AbState.WAITING, uuid.uuid4())
    await record(db, other_night, AbState.CREATED, uuid.uuid4())
    async with db.session() as s:
        of_request = await abs_of_request(s, REQUEST_ID)
        of_night = await abs_of_night(s, "UVES_ECHELLE", date(2024, 3, 1))
        waiting = await waiting_abs(s, "UVES_ECHELLE")
        waiting_elsewhere = await waiting_abs(s, "GIRAFFE")
        states = await ab_states(s, ["AB.BIAS", "AB.SCI", "AB.UNKNOWN"])
        no_states = await ab_states(s, [])
        releasing = await may_release(s, "UVES_ECHELLE", uuid.uuid4())
        releasing_elsewhere = await may_release(s, "GIRAFFE", uuid.uuid4())
    assert [ab.ab_id for ab in of_request] == ["AB.BIAS", "AB.NEXT", "AB.SCI"]
    assert [ab.ab_id for ab in of_night] == ["AB.BIAS", "AB.SCI"]
    assert [ab.ab_id for ab in waiting] == ["AB.SCI"]
    assert waiting_elsewhere == []
    assert states == {"AB.BIAS": AbState.STAGED, "AB.SCI": AbState.WAITING}
    assert no_states == {}
    assert releasing and not releasing_elsewhere, "an ingested event of a mode where no AB waits has nothing to release"


async def test_nights_summary_counts_abs_per_kind_and_state(db: ArchiveDatabase) -> None:
    night, next_night = date(2024, 3, 1), date(2024, 3, 2)
    cases = [
        (make_ab("A1"), AbState.INGESTED),
        (make_ab("A2"), AbState.FAILED),
        (make_ab("A3", raw_type="SCI_POINT_BLUE", dpr_catg="SCIENCE"), AbState.INGESTED),
        (make_ab("A4", night=next_night), AbState.STAGED),
        (make_ab("B1", instrument_mode="GIRAFFE_MEDUSA"), AbState.INGESTED),
    ]
    for ab, state in cases:
        await record(db, ab, state, uuid.uuid4())
    async with db.session() as s:
        summary = await nights_summary(s, "UVES_ECHELLE")
        only_first = await nights_summary(s, "UVES_ECHELLE", night_from=night, night_to=night)
    assert [n.night for n in summary] == [next_night, night]
    first = summary[1]
    assert (first.calibration_abs, first.science_abs, first.total, first.ingested, first.failed) == (2, 1, 3, 2, 1)
    assert summary[0].states == {AbState.STAGED: 1}
    assert [n.night for n in only_first] == [night]


async def test_timestamps_come_back_timezone_aware(db: ArchiveDatabase) -> None:
    at = datetime(2024, 3, 2, 5, 0, tzinfo=UTC)
    async with db.session() as s:
        await record_ab_state(s, make_ab(), AbState.CREATED, event_id=uuid.uuid4(), request_id=REQUEST_ID,
                              service="test", at=at)
    async with db.session() as s:
        (transition,) = await ab_history(s, make_ab().ab_id)
    assert transition.at == at and transition.at.tzinfo == UTC


async def test_writers_through_separate_engines_do_not_collide(db: ArchiveDatabase) -> None:
    """Like several services on one database: no lost write, no 'database is locked'."""
    other = ArchiveDatabase(db.url)
    try:
        abs_ = [make_ab(f"AB.{n:02d}") for n in range(20)]
        await asyncio.gather(*(
            record(database, ab, state, uuid.uuid4())
            for ab in abs_
            for database, state in ((db, AbState.CREATED), (other, AbState.STAGED))
        ))
    finally:
        await other.close()
    async with db.session() as s:
        histories = [await ab_history(s, ab.ab_id) for ab in abs_]
    assert all(len(history) == 2 for history in histories)


async def test_an_ab_is_claimed_by_one_request_and_taken_up_again_only_once_it_failed(db: ArchiveDatabase) -> None:
    ab = make_ab("UVES.2024-03-01.CLAIMED")
    first, second = REQUEST_ID, uuid.uuid4()  # record() writes as REQUEST_ID

    async def claim(request_id: uuid.UUID) -> bool:
        async with db.session() as s:
            return await claim_ab(s, ab, event_id=uuid.uuid4(), request_id=request_id, service="test")

    assert await claim(first)
    await record(db, ab, AbState.STAGED, uuid.uuid4())
    assert not await claim(second), "in flight for the first request: a repeated request leaves it alone"
    assert await claim(first), "the first request's redelivered event keeps it"
    async with db.session() as s:
        assert (await get_ab(s, ab.ab_id)).state is AbState.STAGED, "a redelivery does not reset its state"
    await record(db, ab, AbState.FAILED, uuid.uuid4())
    assert await claim(second), "a failed AB is taken up by a later request"
    async with db.session() as s:
        taken = await get_ab(s, ab.ab_id)
    assert (taken.state, taken.request_id) == (AbState.CREATED, second)


async def test_a_waiting_ab_is_released_by_exactly_one_of_two_concurrent_events(db: ArchiveDatabase) -> None:
    ab = make_ab(depends_on=("UVES_ECHELLE.2024-03-01.BIAS_BLUE.0000",))
    await record(db, ab, AbState.WAITING, uuid.uuid4())
    events = [uuid.uuid4(), uuid.uuid4()]

    async def release(event_id: uuid.UUID) -> bool:
        async with db.session() as s:
            return await record_ab_state(s, ab, AbState.STAGED, event_id=event_id, request_id=uuid.uuid4(),
                                         service="test", only_from=AbState.WAITING)

    outcome = await asyncio.gather(*(release(event_id) for event_id in events))
    assert sorted(outcome) == [False, True]
    winner = events[outcome.index(True)]
    async with db.session() as s:
        assert (await get_ab(s, ab.ab_id)).state is AbState.STAGED
        assert [r.ab_id for r in await staged_by_event(s, winner)] == [ab.ab_id], "the winner re-publishes it"
        assert await may_release(s, "GIRAFFE", winner), "a redelivered event may have released ABs before"
        assert await staged_by_event(s, events[outcome.index(False)]) == []
        assert [t.state for t in await ab_history(s, ab.ab_id)] == [AbState.WAITING, AbState.STAGED]
    assert not await release(uuid.uuid4()), "an AB no longer waiting is not released again"
    await record(db, ab, AbState.PROCESSED, uuid.uuid4())
    async with db.session() as s:
        assert await staged_by_event(s, winner) == [], "once processed, it is not published again"