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
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.reconciliation import Actions


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


def run(args: argparse.Namespace) -> int:
    from shared.reconciliation import reconcile
    from shared.settings import KafkaSettings, load_settings

    kafka = None if args.dry_run else load_settings(KafkaSettings)
    actions = asyncio.run(reconcile(timedelta(minutes=args.older_than), kafka))
    _report(actions, args.dry_run, args.json)
    return 0


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
