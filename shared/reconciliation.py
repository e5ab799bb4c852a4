"""Stalled work rebuilt from the ledger (`phoenix reconcile`): date requests still RECEIVED, campaign
nights never requested, ABs stuck between stages, and WAITING ABs whose release was missed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from shared import __version__
from shared.archive import ledger
from shared.archive.database import read
from shared.archive.models import AbRecord
from shared.archive.types import utc_now
from shared.bus.publish import publish
from shared.campaigns import campaign_progress, recent_campaigns, unfinished_requests
from shared.contracts import AssociationBlock, DataStaged, DateRequested, Event, ProcessingMode
from shared.lifecycle import IN_FLIGHT, RequestState, is_final
from shared.resources import archive_database
from shared.settings import KafkaSettings

PRODUCED_BY = f"phoenix-reconcile@{__version__}"


@dataclass
class Actions:
    requests: list[DateRequested] = field(default_factory=list)
    new_requests: list[DateRequested] = field(default_factory=list)
    abs: list[tuple[AbRecord, DataStaged]] = field(default_factory=list)
    waiting: list[AbRecord] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return [*self.requests, *self.new_requests, *(event for _, event in self.abs)]


async def reconcile(older_than: timedelta, kafka: KafkaSettings | None) -> Actions:
    """Find stalled work in the ledger and, unless `kafka` is None (a dry run), publish it again."""
    cutoff = utc_now() - older_than
    actions = Actions()
    async with archive_database() as database, database.session() as session:
        actions.requests = [request_event(row) for row in await read(session, stalled_requests, cutoff)]
        actions.new_requests = [
            DateRequested(correlation_id=uuid.uuid4(), produced_by=PRODUCED_BY,
                          instrument_mode=campaign.instrument_mode, night=night,
                          mode=ProcessingMode(campaign.mode), campaign_id=campaign.campaign_id)
            for campaign, night in await read(session, unrequested_nights, cutoff)
        ]
        actions.abs = [(record, staged_event(record)) for record in await stalled_abs(session, cutoff)]
        actions.waiting = await releasable_waiting_abs(session, cutoff)
    if kafka is not None and actions.events:
        await publish(kafka, actions.events)
    return actions


def stalled_requests(connection: Connection, older_than: datetime) -> list[Row[Any]]:
    """Requests the fetcher never finished (RECEIVED) with no change since `older_than`."""
    return [r for r in unfinished_requests(connection)
            if r.state is RequestState.RECEIVED and r.updated_at < older_than]


def unrequested_nights(connection: Connection, older_than: datetime) -> list[tuple[Row[Any], date]]:
    """Nights of campaigns created before `older_than` for which no request reached the ledger."""
    missing = []
    for campaign in recent_campaigns(connection):
        if campaign.created_at >= older_than:
            continue
        missing += [(campaign, p.night) for p in campaign_progress(connection, campaign) if p.request is None]
    return missing


async def stalled_abs(session: AsyncSession, older_than: datetime) -> list[AbRecord]:
    """ABs on their way through the chain (STAGED … CERTIFIED) with no change since `older_than`."""
    statement = (
        select(AbRecord)
        .where(AbRecord.state.in_(IN_FLIGHT), AbRecord.updated_at < older_than)
        .order_by(AbRecord.updated_at, AbRecord.ab_id)
    )
    return list((await session.scalars(statement)).all())


async def releasable_waiting_abs(session: AsyncSession, older_than: datetime) -> list[AbRecord]:
    """WAITING ABs whose prerequisites are all final, none of them changed since `older_than`:
    the `ingested` event that should have released them was lost."""
    found = []
    for record in await ledger.waiting_abs(session):
        if not record.depends_on or record.updated_at >= older_than:
            continue
        wanted = sorted(set(record.depends_on))
        prerequisites = (await session.scalars(select(AbRecord).where(AbRecord.ab_id.in_(wanted)))).all()
        if len(prerequisites) == len(wanted) and all(
            is_final(p.state) and p.updated_at < older_than for p in prerequisites
        ):
            found.append(record)
    return found


def request_event(row: Row[Any]) -> DateRequested:
    """The date request again, as it was published: same request id, night(s), mode and campaign."""
    return DateRequested(
        correlation_id=row.request_id, produced_by=PRODUCED_BY, instrument_mode=row.instrument_mode,
        night=row.night, night_to=row.night_to, mode=ProcessingMode(row.mode), campaign_id=row.campaign_id,
        priority=row.priority, reprocess=row.reprocess,
    )


def staged_event(record: AbRecord) -> DataStaged:
    """The AB's `data-staged` event again, from the AB as the ledger holds it, in its last request."""
    return DataStaged(correlation_id=record.request_id, produced_by=PRODUCED_BY,
                      ab=AssociationBlock.model_validate(record.ab))
