"""Processor: data-staged → products-ready.

Walking skeleton (issue 2): reports each AB as processed without running a recipe.
Issue 5 replaces this handler with the esorex worker pool and the SDP conversion.
"""

from __future__ import annotations

from shared.bus.runtime import ServiceContext, ServiceSpec
from shared.contracts import DataStaged, ProcessStatus, ProductsReady


async def on_data_staged(event: DataStaged, ctx: ServiceContext) -> list[ProductsReady]:
    return [ProductsReady.following(event, ab=event.ab, status=ProcessStatus.SUCCESSFUL)]


SERVICE = ServiceSpec(name="processor", handlers={DataStaged: on_data_staged}, produces=(ProductsReady,))
