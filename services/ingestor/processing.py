"""How a product was made, as the pipeline recorded it in its own products' headers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from astropy.io import fits

REC = "HIERARCH ESO PRO REC1"


@dataclass(frozen=True)
class Processing:
    recipe: str = ""
    pipeline_version: str = ""
    parameters: dict[str, str] = field(default_factory=dict)


def processing_record(paths: Iterable[Path]) -> Processing:
    """Recipe, pipeline id and every recipe parameter from the first product that records them."""
    for path in paths:
        header = fits.getheader(path, 0)
        recipe = header.get(f"{REC} ID")
        if recipe:
            return Processing(str(recipe), str(header.get(f"{REC} PIPE ID", "")), _parameters(header))
    return Processing()


def _parameters(header: fits.Header) -> dict[str, str]:
    parameters = {}
    index = 1
    while (name := header.get(f"{REC} PARAM{index} NAME")) is not None:
        parameters[str(name)] = str(header.get(f"{REC} PARAM{index} VALUE", ""))
        index += 1
    return parameters
