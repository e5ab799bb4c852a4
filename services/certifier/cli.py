"""`phoenix review list|accept|reject`: the person's side of the review queue.

A decision publishes a certified event (decided_by = the reviewer) and closes the review in
one go: the event is published inside the database transaction, so a failed publish leaves
the review pending, and a decision repeated after a failed commit only repeats an event the
ingestor already handles idempotently.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import TYPE_CHECKING

from shared import __version__
from shared.errors import DataError

if TYPE_CHECKING:
    from shared.contracts import Decision

REVIEW_POLICY = "REVIEW"
REVIEWER_IDENTITY = f"phoenix-review@{__version__}"
"""Producer of a reviewer's certified event, and the `service` of its ledger row."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "review", help="list the ABs held for review, or accept/reject one",
        description="Database from PHOENIX_DATABASE_URL; a decision is published to the broker in "
        "PHOENIX_KAFKA_BOOTSTRAP_SERVERS.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="pending reviews, oldest first")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(run=run_list)
    for action, accept in (("accept", True), ("reject", False)):
        decision = actions.add_parser(action, help=f"{action} an AB held for review")
        decision.add_argument("ab_id")
        decision.add_argument("--comment", default="", help="why (kept with the review)")
        decision.add_argument("--reviewer", default=getpass.getuser(), help="who decides (default: your user name)")
        decision.set_defaults(run=run_decision, accept=accept)


def run_list(args: argparse.Namespace) -> int:
    rows = _pending(args.limit)
    for ab_id, raw_type, night, reason in rows:
        print(f"{ab_id}\t{raw_type}\t{night}\t{reason}")
    if not rows:
        print("no AB is waiting for review")
    return 0


def run_decision(args: argparse.Namespace) -> int:
    try:
        decision = asyncio.run(_decide(args.ab_id, args.accept, args.reviewer, args.comment))
    except DataError as error:
        print(f"phoenix review: {error}", file=sys.stderr)
        return 1
    print(f"{args.ab_id}: {decision} by {args.reviewer}")
    return 0


def _pending(limit: int) -> list[tuple[str, str, str, str]]:
    from shared.archive.review_queue import pending_reviews
    from shared.resources import existing_archive_database

    with existing_archive_database() as connection:
        reviews = pending_reviews(connection, limit=limit)
    return [(r.ab_id, r.event["ab"]["raw_type"], r.event["ab"]["night"], r.reason) for r in reviews]


async def _decide(ab_id: str, accept: bool, reviewer: str, comment: str) -> Decision:
    from services.certifier.adapters.archive import record_state
    from services.certifier.policies import Verdict
    from services.certifier.service import certified
    from shared.archive import ArchiveDatabase, DatabaseSettings
    from shared.archive.reviews import decide_review
    from shared.bus.publish import publish
    from shared.contracts import Decision, QcScored
    from shared.settings import KafkaSettings, load_settings

    kafka = load_settings(KafkaSettings)
    async with ArchiveDatabase.from_settings(load_settings(DatabaseSettings)) as db, db.session() as session:
        review = await decide_review(session, ab_id, accept=accept, decided_by=reviewer, comment=comment)
        held = QcScored.model_validate(review.event)
        decision = Decision.CERTIFIED if accept else Decision.REJECTED
        verb = "accepted" if accept else "rejected"
        reason = f"{verb} in review by {reviewer}" + (f": {comment}" if comment else "")
        event = certified(held, Verdict(decision, REVIEW_POLICY, reason), decided_by=reviewer)
        event = event.model_copy(update={"produced_by": REVIEWER_IDENTITY})
        await record_state(session, event, event.event_id, REVIEWER_IDENTITY)
        await publish(kafka, [event])
    return decision
