"""QC: products-ready → qc-scored.

Walking skeleton (issue 2): forwards the products with no QC parameters.
Issue 6 replaces this handler with QC extraction and scoring.
"""

from __future__ import annotations

from shared.bus.runtime import ServiceContext, ServiceSpec
from shared.contracts import ProductsReady, QcScored


async def on_products_ready(event: ProductsReady, ctx: ServiceContext) -> list[QcScored]:
    return [
        QcScored.following(event, ab=event.ab, status=event.status, reason=event.reason, products=event.products)
    ]


SERVICE = ServiceSpec(name="qc", handlers={ProductsReady: on_products_ready}, produces=(QcScored,))
