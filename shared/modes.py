"""The processing modes a request asks for. A module of its own, with nothing to import, so the
command line can offer the choices without loading the contracts (pydantic) that carry them."""

from __future__ import annotations

from enum import StrEnum


class ProcessingMode(StrEnum):
    IDP = "IDP"
    """Science products, reduced with certified master calibrations."""
    MCALIB = "MCALIB"
    """Master calibrations only."""
    COMPLETE = "COMPLETE"
    """Both."""
