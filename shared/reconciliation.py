"""Stalled work rebuilt from the ledger (`phoenix reconcile`): date requests still RECEIVED, campaign
nights never requested, ABs stuck between stages, and WAITING ABs whose release was missed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from shared import __version__
from shared.archive.models import AbRecord, Request
from shared.archive.types import utc_now
from shared.bus.publish import publish
from shared.campaigns import releasable_waiting_abs, stalled_abs, stalled_requests, unrequested_nights
from shared.contracts import AssociationBlock, DataStaged, DateRequested, Event, ProcessingMode
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
        actions.requests = [request_event(row) for row in await stalled_requests(session, cutoff)]
        actions.new_requests = [
            DateRequested(correlation_id=uuid.uuid4(), produced_by=PRODUCED_BY,
                          instrument_mode=campaign.instrument_mode, night=night,
                          mode=ProcessingMode(campaign.mode), campaign_id=campaign.campaign_id)
            for campaign, night in await unrequested_nights(session, cutoff)
        ]
        actions.abs = [(record, staged_event(record)) for record in await stalled_abs(session, cutoff)]
        actions.waiting = await releasable_waiting_abs(session, cutoff)
    if kafka is not None and actions.events:
        await publish(kafka, actions.events)
    return actions


def request_event(row: Request) -> DateRequested:
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
