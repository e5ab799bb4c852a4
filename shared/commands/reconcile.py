"""`phoenix reconcile [--older-than MINUTES] [--dry-run]`: re-publish work that stalled.

For real outages in which Kafka lost messages (a cluster rebuilt, topics deleted): the
archive database's ledger still knows the work. A restart of the broker or of any service
needs none of this (Kafka keeps its log, `phoenix run` resumes). From the ledger, for work
unchanged for --older-than minutes:

- a request still RECEIVED (the fetcher never finished it) is published again with the
  same request id, rebuilt from its ledger row;
- a night of a campaign that has no request at all (published, then lost) gets a new one;
- an AB in STAGED, PROCESSED, SCORED or CERTIFIED is sent to `data-staged` again, rebuilt
  from the AB JSON in the ledger (the processor reuses a finished job and the ingestor is
  idempotent, so nothing is duplicated);
- a WAITING AB whose prerequisites are all final is reported (its release was missed).

Choose --older-than longer than the date-requested backlog can take to drain: a request still
queued in Kafka is not in the ledger yet, and its campaign night would be requested twice
(harmless — the fetcher leaves ABs another request has in hand — but wasted work).

The broker comes from PHOENIX_KAFKA_BOOTSTRAP_SERVERS, the database from PHOENIX_DATABASE_URL
(or PHOENIX_DATA_DIR). --dry-run only prints what would be done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from shared.settings import KafkaSettings, load_settings

PRODUCED_BY = f"phoenix-reconcile@{__version__}"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconcile", help="re-publish requests and ABs that stalled (e.g. after a broker restart)",
        description=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--older-than", type=float, default=30.0, metavar="MINUTES",
                        help="only work unchanged for this many minutes (default 30)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be re-published; publish nothing")
    parser.add_argument("--json", action="store_true", help="print what was done as JSON")
    parser.set_defaults(run=run)


@dataclass
class Actions:
    requests: list[DateRequested] = field(default_factory=list)
    new_requests: list[DateRequested] = field(default_factory=list)
    abs: list[tuple[AbRecord, DataStaged]] = field(default_factory=list)
    waiting: list[AbRecord] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return [*self.requests, *self.new_requests, *(event for _, event in self.abs)]


def run(args: argparse.Namespace) -> int:
    kafka = None if args.dry_run else load_settings(KafkaSettings)
    actions = asyncio.run(reconcile(timedelta(minutes=args.older_than), kafka))
    _report(actions, args.dry_run, args.json)
    return 0


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


def _report(actions: Actions, dry_run: bool, as_json: bool) -> None:
    verb = "would republish" if dry_run else "republished"
    if as_json:
        print(json.dumps({
            "dry_run": dry_run,
            "requests": [{"request_id": str(r.request_id), "night": r.night.isoformat()} for r in actions.requests],
            "new_requests": [{"request_id": str(r.request_id), "night": r.night.isoformat(),
                              "campaign_id": r.campaign_id} for r in actions.new_requests],
            "abs": [{"ab_id": rec.ab_id, "state": rec.state.value, "request_id": str(rec.request_id)}
                    for rec, _ in actions.abs],
            "waiting_releasable": [{"ab_id": rec.ab_id, "depends_on": rec.depends_on} for rec in actions.waiting],
        }, indent=2))
        return
    for request in actions.requests:
        print(f"{verb} request {request.request_id} ({request.instrument_mode} {request.night}, RECEIVED)")
    for request in actions.new_requests:
        print(f"{'would publish' if dry_run else 'published'} request {request.request_id} for "
              f"{request.instrument_mode} {request.night} of campaign {request.campaign_id} (never requested)")
    for record, _ in actions.abs:
        print(f"{verb} data-staged for {record.ab_id} ({record.state.value} since {record.updated_at:%Y-%m-%d %H:%M})")
    for record in actions.waiting:
        print(f"WAITING {record.ab_id}: every prerequisite is final ({', '.join(record.depends_on)}); "
              "its release was missed — publish its night again (phoenix request --reprocess) to stage it")
    total = len(actions.events)
    print(f"{total} event(s) {'to republish' if dry_run else 'republished'}, "
          f"{len(actions.waiting)} WAITING AB(s) releasable")
