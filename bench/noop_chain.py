"""No-op service specs for the five hops, to measure the bus and runtime without the real work.

Run each as a process: `PYTHONPATH=<repo> phoenix service bench.noop_chain:FETCHER` (and
PROCESSOR, QC, CERTIFIER, INGESTOR). Each consumes its topic's event and emits the next
topic's event carrying the same AB unchanged, as `tests/support/specs.py` does for one hop:
no archive, no esorex, no database, so what is left is decoding, validation, the handler
call, publishing with acks=all and the manual commit.
"""

from __future__ import annotations

from shared.bus.runtime import ServiceSpec
from shared.contracts import (
    Certified,
    DataStaged,
    DateRequested,
    Decision,
    FinalState,
    Ingested,
    ProcessStatus,
    ProductsReady,
    QcScored,
)
from tests.support.specs import staged_for


async def on_date_requested(event: DateRequested, ctx: object) -> list[DataStaged]:
    return [staged_for(event)]


async def on_data_staged(event: DataStaged, ctx: object) -> list[ProductsReady]:
    return [ProductsReady.following(event, ab=event.ab, status=ProcessStatus.SUCCESSFUL)]


async def on_products_ready(event: ProductsReady, ctx: object) -> list[QcScored]:
    return [QcScored.following(event, ab=event.ab, status=event.status, products=event.products)]


async def on_qc_scored(event: QcScored, ctx: object) -> list[Certified]:
    return [Certified.following(event, ab=event.ab, decision=Decision.CERTIFIED, products=event.products)]


async def on_certified(event: Certified, ctx: object) -> list[Ingested]:
    return [Ingested.following(event, ab=event.ab, state=FinalState.INGESTED)]


# Consumer groups are the spec names: distinct from the real services' groups.
FETCHER = ServiceSpec(name="noop-fetcher", handlers={DateRequested: on_date_requested}, produces=(DataStaged,))
PROCESSOR = ServiceSpec(name="noop-processor", handlers={DataStaged: on_data_staged}, produces=(ProductsReady,))
QC = ServiceSpec(name="noop-qc", handlers={ProductsReady: on_products_ready}, produces=(QcScored,))
CERTIFIER = ServiceSpec(name="noop-certifier", handlers={QcScored: on_qc_scored}, produces=(Certified,))
INGESTOR = ServiceSpec(name="noop-ingestor", handlers={Certified: on_certified}, produces=(Ingested,))

SPECS = {"fetcher": "FETCHER", "processor": "PROCESSOR", "qc": "QC", "certifier": "CERTIFIER", "ingestor": "INGESTOR"}
"""Hop name → attribute, for `phoenix service bench.noop_chain:<attribute>`."""
