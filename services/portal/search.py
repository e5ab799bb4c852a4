"""From query parameters to a catalogue query (pure): the checks a range alone cannot express."""

from __future__ import annotations

import re
from datetime import date

from shared.archive.catalogue import ProductQuery
from shared.archive.geometry import Cone, angular_distance_deg
from shared.archive.models import Product
from shared.errors import DataError

PRODUCT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}")


def is_product_id(text: str) -> bool:
    """Product ids are `PHX.<timestamp>.<n>`-like; anything else (slashes, `..`) names no product."""
    return PRODUCT_ID.fullmatch(text) is not None and ".." not in text


def cone_of(ra: float | None, dec: float | None, radius: float | None) -> Cone | None:
    given = [value is not None for value in (ra, dec, radius)]
    if not any(given):
        return None
    if not all(given):
        raise DataError("a cone search needs ra, dec and radius together")
    try:
        return Cone(ra, dec, radius)  # type: ignore[arg-type]
    except ValueError as error:
        raise DataError(str(error)) from None


def product_query(
    *,
    target: str | None,
    ra: float | None,
    dec: float | None,
    radius: float | None,
    wavelength_min_nm: float | None,
    wavelength_max_nm: float | None,
    instrument: str | None,
    night_from: date | None,
    night_to: date | None,
    min_snr: float | None,
    release: str | None,
    include_obsolete: bool,
    limit: int,
    offset: int,
) -> ProductQuery:
    if wavelength_min_nm is not None and wavelength_max_nm is not None and wavelength_min_nm > wavelength_max_nm:
        raise DataError(f"wavelength_min_nm {wavelength_min_nm} is above wavelength_max_nm {wavelength_max_nm}")
    if night_from is not None and night_to is not None and night_from > night_to:
        raise DataError(f"night_from {night_from} is after night_to {night_to}")
    return ProductQuery(
        target=target.strip() if target else None,
        cone=cone_of(ra, dec, radius),
        wavelength_min_nm=wavelength_min_nm,
        wavelength_max_nm=wavelength_max_nm,
        instrument=instrument,
        night_from=night_from,
        night_to=night_to,
        min_snr=min_snr,
        release=release,
        current_only=not include_obsolete,
        limit=limit,
        offset=offset,
    )


def distance_from(cone: Cone | None, product: Product) -> float | None:
    if cone is None or product.ra is None or product.dec is None:
        return None
    return angular_distance_deg(cone.ra, cone.dec, product.ra, product.dec)
