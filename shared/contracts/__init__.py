"""The contracts: one pydantic model per topic, JSON on the wire, and the topic registry."""

from shared.contracts.ab import (
    Association,
    AssociationBlock,
    CalibrationRole,
    Completeness,
    ProcessingMode,
    RawFrame,
    StagedFile,
)
from shared.contracts.base import Event
from shared.contracts.certified import Certified, Decision
from shared.contracts.data_staged import DataStaged
from shared.contracts.date_requested import DateRequested
from shared.contracts.dead_letter import DeadLetter
from shared.contracts.ingested import FinalState, Ingested
from shared.contracts.products_ready import PREVIEW_CATEGORY, ProcessStatus, Product, ProductKind, ProductsReady
from shared.contracts.qc_scored import QcScore, QcScored

TOPICS: dict[str, type[Event]] = {
    model.topic: model for model in (DateRequested, DataStaged, ProductsReady, QcScored, Certified, Ingested)
}
"""Topic name → its event model, in pipeline order."""


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


__all__ = [
    "PREVIEW_CATEGORY", "TOPICS", "Association", "AssociationBlock", "CalibrationRole", "Certified", "Completeness",
    "DataStaged", "DateRequested", "DeadLetter", "Decision", "Event", "FinalState", "Ingested",
    "ProcessStatus", "ProcessingMode", "Product", "ProductKind", "ProductsReady", "QcScore",
    "QcScored", "RawFrame", "StagedFile", "dead_letter_topic",
]
