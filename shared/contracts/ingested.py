"""`ingested`: the final state of an AB, and the archive ids of what was stored."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.ab import AbEvent, AssociationBlock
from shared.lifecycle import FinalState


class Ingested(AbEvent):
    topic = "ingested"
    schema_version: Literal[1] = Field(default=1, description="Version of this topic's schema.", examples=[1])
    ab: AssociationBlock = Field(description="The AB that reached its final state.")
    state: FinalState = Field(description="Final state of the AB.", examples=["INGESTED"])
    reason: str = Field(default="", description="Why it ended in that state.", examples=[""])
    product_ids: list[str] = Field(
        default_factory=list,
        description="Archive ids of the stored products.",
        examples=[["PHX.2026-11-24T18:00:00.123.1"]],
    )
