"""`data-staged`: one association block whose files are staged, ready to process."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.ab import AbEvent, AssociationBlock


class DataStaged(AbEvent):
    topic = "data-staged"
    ab: AssociationBlock = Field(description="The AB, with the staged location of every file.")
