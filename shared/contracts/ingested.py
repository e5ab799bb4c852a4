"""`ingested`: the final state of an AB, and the archive ids of what was stored."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.ab import AbEvent, AssociationBlock
from shared.lifecycle import FinalState


class Ingested(AbEvent):
    topic = "ingested"
    ab: AssociationBlock = Field(description="The AB that reached its final state.")
    state: FinalState = Field(description="Final state of the AB.", examples=["INGESTED"])
    reason: str = Field(default="", description="Why it ended in that state.", examples=[""])
    product_ids: list[str] = Field(
        default_factory=list,
        description="Archive ids of the stored products.",
        examples=[["PHX.2026-11-24T18:00:00.123.1"]],
    )
