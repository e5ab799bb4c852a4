"""Certifier: qc-scored → certified.

Applies the RAW_TYPE's policy (ALL, NONZERO, RANDOM) to an AB's QC scores. REJECTED and REVIEW
decisions carry no products, so nothing uncertified is ingested or registered as a calibration;
an AB held for review waits in the review queue until `phoenix review accept|reject` decides it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.certifier import metrics
from services.certifier.adapters.archive import night_already_sampled, record_decision
from services.certifier.policies import CERTIFICATION_FILE, CertificationRules, Verdict, decide, load_rules
from shared.archive import ArchiveDatabase, DatabaseSettings
from shared.bus.runtime import ServiceSpec, ServiceStart
from shared.contracts import Certified, Decision, Product, ProductKind, QcScored
from shared.instruments import load_per_mode, rules_for
from shared.resources import archive_database

QC_REPORT_CATEGORY = "QC_REPORT"


@dataclass(frozen=True)
class CertifierContext:
    identity: str
    db: ArchiveDatabase
    rules: dict[str, CertificationRules]
    """Certification rules by instrument mode."""


async def on_qc_scored(event: QcScored, ctx: CertifierContext) -> list[Certified]:
    ab = event.ab
    rules = rules_for(ctx.rules, ab.instrument_mode, CERTIFICATION_FILE)
    already_sampled = await night_already_sampled(ctx.db, ab)
    verdict = decide(ab.ab_id, ab.raw_type, event.status, event.reason, event.scores, rules, already_sampled)
    decision = certified(event, verdict, decided_by="auto")
    await record_decision(ctx.db, event, decision, ctx.identity)
    metrics.DECISIONS.labels(ab.raw_type, verdict.decision.value, verdict.policy or "none").inc()
    return [decision]


def certified(event: QcScored, verdict: Verdict, decided_by: str) -> Certified:
    """The certified event; only a CERTIFIED decision carries the products on, QC report included."""
    products = [*event.products, *_qc_report(event)] if verdict.decision is Decision.CERTIFIED else []
    return Certified.following(event, ab=event.ab, decision=verdict.decision, policy=verdict.policy,
                               reason=verdict.reason, decided_by=decided_by, products=products)


def _qc_report(event: QcScored) -> list[Product]:
    if event.report is None:
        return []
    name = event.report.uri.rsplit("/", 1)[-1]
    return [Product(name=name, pro_catg=QC_REPORT_CATEGORY, kind=ProductKind.ANCILLARY, file=event.report)]


def load_all_rules() -> dict[str, CertificationRules]:
    """Every instrument mode's certification rules; a bad file stops the service, naming file and line."""
    return load_per_mode(CERTIFICATION_FILE, load_rules)


@asynccontextmanager
async def lifespan(start: ServiceStart) -> AsyncIterator[CertifierContext]:
    rules = load_all_rules()
    async with archive_database(start.settings_of(DatabaseSettings)) as db:
        yield CertifierContext(start.identity, db, rules)


SERVICE = ServiceSpec(
    name="certifier", handlers={QcScored: on_qc_scored}, produces=(Certified,), lifespan=lifespan,
    settings=(DatabaseSettings,),
)
