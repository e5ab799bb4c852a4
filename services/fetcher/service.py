"""Fetcher: date-requested → one data-staged event per association block.

Walking skeleton (issue 2): the request is forwarded as one AB per night without looking at
any data. Issue 4 replaces this handler with classification, association and staging.
"""

from __future__ import annotations

from datetime import timedelta

from shared.bus.runtime import ServiceContext, ServiceSpec
from shared.contracts import AssociationBlock, DataStaged, DateRequested, RawFrame


async def on_date_requested(event: DateRequested, ctx: ServiceContext) -> list[DataStaged]:
    return [DataStaged.following(event, ab=_request_block(event, night)) for night in _nights(event)]


def _nights(event: DateRequested):
    last = event.night_to or event.night
    return [event.night + timedelta(days=n) for n in range((last - event.night).days + 1)]


def _request_block(event: DateRequested, night) -> AssociationBlock:
    name = f"{event.instrument_mode}.{night.isoformat()}.{event.mode.value}"
    return AssociationBlock(
        ab_id=name,
        ab_name=f"{name}.ab",
        instrument=event.instrument_mode.split("_", 1)[0],
        instrument_mode=event.instrument_mode,
        night=night,
        mode=event.mode,
        dpr_catg="UNKNOWN",
        raw_type="UNKNOWN",
        recipe="none",
        mjd_obs=0.0,
        mjd_obs_mod=0.0,
        raw_files=[RawFrame(arcfile=f"{name}.request", category="UNKNOWN", mjd_obs=0.0)],
    )


SERVICE = ServiceSpec(name="fetcher", handlers={DateRequested: on_date_requested}, produces=(DataStaged,))
