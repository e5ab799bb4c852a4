"""Certifier: qc-scored → certified.

Walking skeleton (issue 2): certifies successful ABs and rejects failed ones, without policy.
Issue 6 replaces this handler with the ALL / NONZERO / RANDOM policies and the review queue.
"""

from __future__ import annotations

from shared.bus.runtime import ServiceContext, ServiceSpec
from shared.contracts import Certified, Decision, ProcessStatus, QcScored


async def on_qc_scored(event: QcScored, ctx: ServiceContext) -> list[Certified]:
    failed = event.status is ProcessStatus.FAILED
    return [
        Certified.following(
            event,
            ab=event.ab,
            decision=Decision.REJECTED if failed else Decision.CERTIFIED,
            reason=event.reason if failed else "processing succeeded",
            products=event.products,
        )
    ]


SERVICE = ServiceSpec(name="certifier", handlers={QcScored: on_qc_scored}, produces=(Certified,))
