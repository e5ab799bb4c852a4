"""From query parameters to a catalogue query (pure): the checks a range alone cannot express."""

from __future__ import annotations

import re

from services.portal.schemas import ProductSearch
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


def product_query(search: ProductSearch) -> ProductQuery:
    if (search.wavelength_min_nm is not None and search.wavelength_max_nm is not None
            and search.wavelength_min_nm > search.wavelength_max_nm):
        raise DataError(f"wavelength_min_nm {search.wavelength_min_nm} is above wavelength_max_nm "
                        f"{search.wavelength_max_nm}")
    if search.night_from is not None and search.night_to is not None and search.night_from > search.night_to:
        raise DataError(f"night_from {search.night_from} is after night_to {search.night_to}")
    return ProductQuery(
        target=search.target,
        cone=cone_of(search.ra, search.dec, search.radius),
        wavelength_min_nm=search.wavelength_min_nm,
        wavelength_max_nm=search.wavelength_max_nm,
        instrument=search.instrument,
        night_from=search.night_from,
        night_to=search.night_to,
        min_snr=search.min_snr,
        release=search.release,
        current_only=not search.include_obsolete,
        limit=search.limit,
        offset=search.offset,
    )


def distance_from(cone: Cone | None, product: Product) -> float | None:
    if cone is None or product.ra is None or product.dec is None:
        return None
    return angular_distance_deg(cone.ra, cone.dec, product.ra, product.dec)
