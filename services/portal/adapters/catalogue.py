"""Catalogue queries the shared repository has no function for: SSA's time overlap.

Built from `catalogue.product_conditions` (every filter there is bound, never text) plus bound
conditions on t_min/t_max.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.ssa import SsaQuery
from shared.archive.catalogue import ProductQuery, product_conditions
from shared.archive.geometry import unit_vector
from shared.archive.models import Product


async def ssa_products(session: AsyncSession, query: SsaQuery) -> tuple[list[Product], bool]:
    """Up to MAXREC current products matching the query, nearest first for a cone; and whether
    more matched (overflow)."""
    catalogue_query = ProductQuery(
        target=query.target,
        cone=query.cone,
        wavelength_min_nm=query.wavelength_min_nm,
        wavelength_max_nm=query.wavelength_max_nm,
    )
    conditions = [*product_conditions(catalogue_query), *_time_overlap(query)]
    statement = select(Product).where(*conditions)
    if query.cone is not None:
        x0, y0, z0 = unit_vector(query.cone.ra, query.cone.dec)
        statement = statement.order_by((Product.x * x0 + Product.y * y0 + Product.z * z0).desc(), Product.product_id)
    else:
        statement = statement.order_by(Product.t_min, Product.product_id)
    rows = list((await session.scalars(statement.limit(query.maxrec + 1))).all())
    return rows[: query.maxrec], len(rows) > query.maxrec


def _time_overlap(query: SsaQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.time_min_mjd is not None:
        conditions.append(Product.t_max >= query.time_min_mjd)
    if query.time_max_mjd is not None:
        conditions.append(Product.t_min <= query.time_max_mjd)
    return conditions
