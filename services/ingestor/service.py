"""Ingestor: certified → ingested.

Walking skeleton (issue 2): records the decision as the AB's final state without storing
files. Issue 7 replaces this handler with Phase 3 validation and the archive catalogue.
"""

from __future__ import annotations

from shared.bus.runtime import ServiceContext, ServiceSpec
from shared.contracts import Certified, Decision, FinalState, Ingested

_FINAL_STATE = {
    Decision.CERTIFIED: FinalState.INGESTED,
    Decision.REJECTED: FinalState.REJECTED,
    Decision.REVIEW: FinalState.REVIEW,
}


async def on_certified(event: Certified, ctx: ServiceContext) -> list[Ingested]:
    return [Ingested.following(event, ab=event.ab, state=_FINAL_STATE[event.decision], reason=event.reason)]


SERVICE = ServiceSpec(name="ingestor", handlers={Certified: on_certified}, produces=(Ingested,))
