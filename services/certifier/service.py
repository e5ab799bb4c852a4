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
from shared.archive import ArchiveDatabase
from shared.bus.runtime import ServiceSpec
from shared.contracts import Certified, Decision, Product, ProductKind, QcScored
from shared.errors import DataError
from shared.instruments import INSTRUMENTS_DIR
from shared.resources import archive_database
from shared.settings import RuntimeSettings

SERVICE_NAME = "certifier"
QC_REPORT_CATEGORY = "QC_REPORT"


@dataclass(frozen=True)
class CertifierContext:
    db: ArchiveDatabase
    rules: dict[str, CertificationRules]
    """Certification rules by instrument mode."""

    def rules_for(self, instrument_mode: str) -> CertificationRules:
        rules = self.rules.get(instrument_mode)
        if rules is None:
            raise DataError(f"no {CERTIFICATION_FILE} for instrument mode {instrument_mode}")
        return rules


async def on_qc_scored(event: QcScored, ctx: CertifierContext) -> list[Certified]:
    ab = event.ab
    rules = ctx.rules_for(ab.instrument_mode)
    already_sampled = await night_already_sampled(ctx.db, ab)
    verdict = decide(ab.ab_id, ab.raw_type, event.status, event.reason, event.scores, rules, already_sampled)
    decision = certified(event, verdict, decided_by="auto")
    await record_decision(ctx.db, event, decision, SERVICE_NAME)
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
    loaded = (load_rules(path) for path in sorted(INSTRUMENTS_DIR.glob(f"*/{CERTIFICATION_FILE}")))
    return {rules.instrument_mode: rules for rules in loaded}


@asynccontextmanager
async def lifespan(runtime: RuntimeSettings) -> AsyncIterator[CertifierContext]:
    rules = load_all_rules()
    async with archive_database() as db:
        yield CertifierContext(db, rules)


SERVICE = ServiceSpec(
    name=SERVICE_NAME, handlers={QcScored: on_qc_scored}, produces=(Certified,), lifespan=lifespan
)
