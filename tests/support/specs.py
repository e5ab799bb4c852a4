"""Service specs used by the runtime tests: real handlers with observable behaviour.

Run in-process by ServiceRunner, or as processes with `phoenix service tests.support.specs:NAME`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from shared.bus.runtime import ServiceSpec
from shared.contracts import AssociationBlock, DataStaged, DateRequested, RawFrame
from shared.errors import TransientError
from shared.settings import RuntimeSettings

log = logging.getLogger(__name__)


def staged_for(event: DateRequested, number: int = 0) -> DataStaged:
    name = f"{event.instrument_mode}.{event.night}.{event.correlation_id}" + (f".{number}" if number else "")
    block = AssociationBlock(
        ab_id=name, ab_name=name, instrument="TEST", instrument_mode=event.instrument_mode, night=event.night,
        mode=event.mode, dpr_catg="TEST", raw_type="TEST", recipe="none", mjd_obs=0.0, mjd_obs_mod=0.0,
        raw_files=[RawFrame(arcfile=f"{name}.fits", category="TEST", mjd_obs=0.0)],
    )
    return DataStaged.following(event, ab=block)


@dataclass
class Recorder:
    """What one in-process replica did, for assertions."""

    replica: str
    handled: list[DateRequested] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    running: int = 0
    most_running: int = 0
    delay_seconds: float = 0.0
    fail_first: int = 0
    """Raise TransientError on the first N attempts of every event."""
    outputs_per_event: int = 1
    """How many ABs (data-staged events, distinct keys) each request yields."""


def recording_spec(recorder: Recorder, spread: bool = False) -> ServiceSpec:
    @asynccontextmanager
    async def lifespan(runtime: RuntimeSettings) -> AsyncIterator[Recorder]:
        yield recorder

    async def on_date_requested(event: DateRequested, ctx: Recorder) -> list[DataStaged]:
        key = str(event.event_id)
        ctx.attempts[key] = ctx.attempts.get(key, 0) + 1
        if ctx.attempts[key] <= ctx.fail_first:
            raise TransientError(f"simulated outage, attempt {ctx.attempts[key]}")
        ctx.running += 1
        ctx.most_running = max(ctx.most_running, ctx.running)
        try:
            await asyncio.sleep(ctx.delay_seconds)
        finally:
            ctx.running -= 1
        ctx.handled.append(event)
        return [staged_for(event, number) for number in range(ctx.outputs_per_event)]

    return ServiceSpec(name="recorder", handlers={DateRequested: on_date_requested}, produces=(DataStaged,),
                       lifespan=lifespan, spread=(DataStaged,) if spread else ())


async def on_date_requested_slowly(event: DateRequested, ctx: object) -> list[DataStaged]:
    """Logs when it starts, so a test can kill the replica mid-handler; then takes its time."""
    log.warning("HANDLING %s in pid %d", event.correlation_id, os.getpid())
    await asyncio.sleep(float(os.environ.get("PHOENIX_TEST_HANDLER_SECONDS", "5")))
    return [staged_for(event)]


SLOW = ServiceSpec(name="slow", handlers={DateRequested: on_date_requested_slowly}, produces=(DataStaged,))
