"""A sixth service for the live monitoring test, beside the five real ones.

The walking-skeleton handlers never raise, so without it `phoenix_events_failed_total`
(exported by the runtime on a handler error) would have no series to query. It reads
date-requested in its own consumer group: a request with priority 0 fails with a DataError
(counted as a failure, then dead-lettered by the runtime); any other is skipped (NoWork).
"""

from __future__ import annotations

from shared.bus.runtime import ServiceContext, ServiceSpec
from shared.contracts import DateRequested
from shared.errors import DataError, NoWork


async def on_date_requested(event: DateRequested, ctx: ServiceContext) -> list[object]:
    if event.priority == 0:
        raise DataError(f"priority-0 request {event.correlation_id} fails on purpose")
    raise NoWork("only priority-0 requests concern this service")


SERVICE = ServiceSpec(name="faulty", handlers={DateRequested: on_date_requested}, produces=())
