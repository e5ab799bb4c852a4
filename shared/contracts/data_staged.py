"""`data-staged`: one association block whose files are staged, ready to process."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.ab import AbEvent, AssociationBlock


class DataStaged(AbEvent):
    topic = "data-staged"
    schema_version: Literal[1] = Field(default=1, description="Version of this topic's schema.", examples=[1])
    ab: AssociationBlock = Field(description="The AB, with the staged location of every file.")
