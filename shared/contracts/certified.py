"""`certified`: the certification decision for an AB."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.contracts.ab import AbEvent, AssociationBlock
from shared.contracts.products_ready import Product


class Decision(StrEnum):
    CERTIFIED = "CERTIFIED"
    REJECTED = "REJECTED"
    REVIEW = "REVIEW"


class Certified(AbEvent):
    topic = "certified"
    ab: AssociationBlock = Field(description="The AB decided on.")
    decision: Decision = Field(description="CERTIFIED, REJECTED or REVIEW (held for a person).", examples=["CERTIFIED"])
    policy: str = Field(default="", description="Certification policy that decided.", examples=["NONZERO"])
    reason: str = Field(default="", description="Why, in a sentence.", examples=["all 12 QC parameters scored 0"])
    decided_by: str = Field(default="auto", description="`auto` or the reviewer's name.", examples=["auto"])
    products: list[Product] = Field(default_factory=list, description="Products to ingest when certified.")
