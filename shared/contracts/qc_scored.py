"""`qc-scored`: QC parameters of an AB's products, scored against thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.ab import AssociationBlock, StagedFile
from shared.contracts.base import Model
from shared.contracts.products_ready import ProcessingOutcome


class QcScore(Model):
    product: str = Field(description="Product the parameter was measured on.", examples=["masterbias_blue.fits"])
    parameter: str = Field(description="QC parameter name.", examples=["QC.OUT1.RON.MASTER"])
    value: float | None = Field(description="Measured value; none when it could not be read.", examples=[3.9])
    unit: str = Field(default="", description="Unit of the value.", examples=["ADU"])
    score: Literal[0, 1] | None = Field(
        description="0 = OK (green), 1 = outlier (red), none = unscored (grey).", examples=[0]
    )
    grade: float | None = Field(
        default=None, ge=0, le=1, description="Graded quality, 1 = best, 0 = worst.", examples=[0.92]
    )
    message: str = Field(default="", description="Why the parameter scored as it did.", examples=["3.9 within 2.0–6.0"])
    threshold_set: str = Field(default="", description="Version of the threshold set used.", examples=["UVES_ECHELLE@2004-04-01"])
    mandatory: bool = Field(
        default=False,
        description="The parameter must be present; a mandatory parameter without a value rejects the AB.",
        examples=[True],
    )
    informational: bool = Field(
        default=False,
        description="Deliberately not scored: the threshold set lists the parameter as informational, "
        "with the reason in the message (score is none). An unscored parameter that is not "
        "informational has no threshold yet.",
        examples=[False],
    )


class QcScored(ProcessingOutcome):
    topic = "qc-scored"
    ab: AssociationBlock = Field(description="The AB whose products were scored.")
    scores: list[QcScore] = Field(default_factory=list, description="Every QC parameter and its score.")
    report: StagedFile | None = Field(default=None, description="The QC report plot (PNG).")
