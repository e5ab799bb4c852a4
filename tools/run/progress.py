"""A request's progress, followed in the archive database while a supervisor keeps the chain running.

A request is finished when the fetcher has handled it (FETCHED) and every AB of it is in a
final state: INGESTED, REJECTED, REVIEW, INCOMPLETE or FAILED.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.archive import ArchiveDatabase, calibrations, catalogue, ledger, qc1
from shared.archive.models import AbRecord, AbState, RequestState
from shared.errors import TransientError
from shared.lifecycle import FINAL as FINAL_STATES
from shared.lifecycle import request_finished


@dataclass
class Progress:
    """What the ledger says about one request and the ABs of its nights."""

    request_id: uuid.UUID
    request_state: RequestState | None = None
    request_reason: str = ""
    abs: list[AbRecord] = field(default_factory=list)
    prerequisites: dict[str, AbState] = field(default_factory=dict)
    """States of the ABs the request's ABs depend on."""

    @property
    def states(self) -> Counter[str]:
        return Counter(self.state_of(record).value for record in self.abs)

    @property
    def finished(self) -> bool:
        return request_finished(self.request_state, [self.state_of(record) for record in self.abs])

    def state_of(self, record: AbRecord) -> AbState:
        """The AB's state, where an AB that waits only for prerequisites held for review is REVIEW too."""
        return AbState.REVIEW if self.held_for(record) else record.state

    def held_for(self, record: AbRecord) -> list[str]:
        """The prerequisites in REVIEW that a WAITING AB is held by, when nothing else can still move."""
        if record.state is not AbState.WAITING or not record.depends_on:
            return []
        states = [self.prerequisites.get(ab_id) for ab_id in record.depends_on]
        if not all(state in FINAL_STATES for state in states):
            return []
        return [ab_id for ab_id in record.depends_on if self.prerequisites.get(ab_id) is AbState.REVIEW]


async def follow(
    database: ArchiveDatabase,
    request_id: uuid.UUID,
    supervise: Callable[[], None],
    timeout_seconds: float,
    on_progress: Callable[[Progress], None] = lambda _: None,
) -> Progress:
    """Poll the ledger until the request is finished, calling `supervise` (which restarts
    or gives up on dead children) between polls."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        progress = await read_progress(database, request_id)
        on_progress(progress)
        if progress.finished:
            return progress
        supervise()
        if time.monotonic() > deadline:
            raise TransientError(f"request {request_id} did not finish within {timeout_seconds:.0f} s "
                                 f"({dict(progress.states)})")
        await asyncio.sleep(0.5)


async def read_progress(database: ArchiveDatabase, request_id: uuid.UUID) -> Progress:
    """The request and every AB of its nights, whichever request is handling them."""
    async with database.session() as session:
        request = await ledger.get_request(session, request_id)
        if request is None:
            return Progress(request_id)
        records = {record.ab_id: record for record in await ledger.abs_of_request(session, request_id)}
        for night in _nights(request.night, request.night_to or request.night):
            for record in await ledger.abs_of_night(session, request.instrument_mode, night):
                records.setdefault(record.ab_id, record)
        prerequisites = await ledger.ab_states(session, {ab for r in records.values() for ab in r.depends_on})
    return Progress(request_id, request.state, request.reason, list(records.values()), prerequisites)


def _nights(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def summary(database: ArchiveDatabase, progress: Progress) -> dict[str, object]:
    """The machine-readable summary: every AB with its final state, scores and archive ids."""
    abs_ = []
    async with database.session() as session:
        for record in sorted(progress.abs, key=lambda r: (r.night, r.raw_type, r.ab_id)):
            scores = {v.parameter if not v.product else f"{v.product}:{v.parameter}": v.score
                      for v in await qc1.qc1_of_ab(session, record.ab_id)}
            product_ids = [p.product_id for p in await catalogue.products_of_ab(session, record.ab_id)]
            product_ids += [c.name for c in await calibrations.calibrations_of_ab(session, record.ab_id)]
            abs_.append({
                "ab_id": record.ab_id, "night": record.night.isoformat(), "raw_type": record.raw_type,
                "recipe": record.recipe, "state": progress.state_of(record).value, "reason": _reason(progress, record),
                "scores": scores, "product_ids": product_ids,
            })
    return {
        "request_id": str(progress.request_id),
        "request_state": progress.request_state.value if progress.request_state else None,
        "request_reason": progress.request_reason,
        "abs": abs_,
    }


def _reason(progress: Progress, record: AbRecord) -> str:
    held = progress.held_for(record)
    return f"waits for {', '.join(held)}, held for review" if held else record.reason
