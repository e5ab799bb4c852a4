"""`date-requested`: process the raw frames of one instrument mode over one night or a range."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field, model_validator

from shared.contracts.ab import ProcessingMode
from shared.contracts.base import Event


class DateRequested(Event):
    topic = "date-requested"
    instrument_mode: str = Field(
        pattern="^[A-Z][A-Z0-9_]*$",
        description="Instrument mode whose rules apply.",
        examples=["UVES_ECHELLE"],
    )
    night: date = Field(description="The (first) observing night, by its evening date.", examples=["2015-02-23"])
    night_to: date | None = Field(
        default=None,
        description="Last night of a pool of nights (inclusive); none for a single night.",
        examples=[None],
    )
    mode: ProcessingMode = Field(
        default=ProcessingMode.IDP,
        description="IDP (science products), MCALIB (master calibrations) or COMPLETE (both).",
        examples=["COMPLETE"],
    )
    campaign_id: str | None = Field(
        default=None, max_length=128, description="Campaign this request belongs to.", examples=["uves-2015-reprocessing"]
    )
    priority: int = Field(default=5, ge=0, le=9, description="0 (lowest) to 9 (highest).", examples=[5])
    reprocess: bool = Field(
        default=False, description="Process again even what was already ingested.", examples=[False]
    )

    @model_validator(mode="after")
    def _range_is_ordered(self) -> Self:
        if self.night_to is not None and self.night_to < self.night:
            raise ValueError(f"night_to {self.night_to} is before night {self.night}")
        return self

    @property
    def request_id(self):
        return self.correlation_id

    @property
    def partition_key(self) -> str:
        return f"{self.instrument_mode}:{self.night.isoformat()}"
