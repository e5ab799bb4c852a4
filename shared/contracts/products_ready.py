"""`products-ready`: what running an AB's recipe produced, or why it failed."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.contracts.ab import AbEvent, AssociationBlock, StagedFile
from shared.contracts.base import Model


class ProcessStatus(StrEnum):
    SUCCESSFUL = "SUCCESSFUL"
    FAILED = "FAILED"


class ProductKind(StrEnum):
    IDP = "IDP"
    """A science spectrum in the ESO SDP format."""
    MCALIB = "MCALIB"
    """A master calibration."""
    PIPELINE = "PIPELINE"
    """Any other pipeline product kept with the AB."""
    ANCILLARY = "ANCILLARY"
    """Preview plots, logs, QC reports."""


PREVIEW_CATEGORY = "ANCILLARY.PREVIEW"
"""PRO.CATG of an IDP's quick-look plot (an ANCILLARY product; ESO's ASSOCi value)."""


class Product(Model):
    name: str = Field(description="File name of the product.", examples=["masterbias_blue.fits"])
    pro_catg: str = Field(description="PRO.CATG of the product.", examples=["MASTER_BIAS_BLUE"])
    kind: ProductKind = Field(description="What the product is.", examples=["MCALIB"])
    file: StagedFile = Field(description="Where the product is stored.")
    qc: dict[str, float | int | str] = Field(
        default_factory=dict,
        description="The product's QC keywords as the pipeline wrote them (dotted names).",
        examples=[{"QC.OUT1.RON.MASTER": 3.9}],
    )


class ProcessingOutcome(AbEvent):
    """What running an AB's recipe gave: `products-ready` says it, `qc-scored` passes it on."""

    status: ProcessStatus = Field(description="PROCESS_STATUS of the recipe run.", examples=["SUCCESSFUL"])
    reason: str = Field(default="", description="Why processing failed; empty when it succeeded.", examples=[""])
    products: list[Product] = Field(default_factory=list, description="The AB's products, by PRO.CATG.")


class ProductsReady(ProcessingOutcome):
    topic = "products-ready"
    ab: AssociationBlock = Field(description="The AB that was processed.")
    log: StagedFile | None = Field(default=None, description="The recipe's processing log.")
    job_key: str = Field(
        default="",
        description="Hash of recipe, pipeline version, parameters and input checksums.",
        examples=["5d41402abc4b2a76b9719d911017c592"],
    )
    reused: bool = Field(default=False, description="Products came from an earlier identical job.", examples=[False])
    pipeline_version: str = Field(default="", description="Pipeline and esorex versions.", examples=["uves-6.1.8 esorex-3.13.6"])
    duration_seconds: float = Field(default=0.0, ge=0, description="Recipe wall time [s].", examples=[9.4])
