"""The product catalogue: ingestion with versions, and the searches the portal serves."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from shared.archive.geometry import Cone, cone_box, normalised_ra, unit_vector
from shared.archive.models import Product, ProductFile, ProductProvenance, ProductStatus, ProvenanceKind
from shared.archive.types import utc_now
from shared.errors import DataError, TransientError

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000
IS_CURRENT = Product.status == literal_column(f"'{ProductStatus.CURRENT.value}'")
"""The current versions, the value written in the SQL: SQLite uses the partial index on CURRENT
rows only for a condition it can see is the index's own (a bound value hides it)."""
COUNTED_MATCHES = 1000
"""A search counts its matches up to this many (or to the end of the page asked for, if further):
counting every match of a broad search ("s") would cost more than the page itself."""


@dataclass(frozen=True)
class Provenance:
    kind: ProvenanceKind
    name: str
    sha256: str = ""


@dataclass(frozen=True)
class AncillaryFile:
    kind: str
    """PREVIEW, QC_REPORT, LOG, ..."""
    name: str
    uri: str
    size_bytes: int


@dataclass(frozen=True)
class NewProduct:
    """What the ingestor knows about a product it is about to catalogue."""

    product_id: str
    ab_id: str
    instrument: str
    prodcatg: str
    access_uri: str
    sha256: str
    file_size_bytes: int
    provenance: Sequence[Provenance]
    arm: str = ""
    night: date | None = None
    target_name: str = ""
    ra: float | None = None
    dec: float | None = None
    t_min: float | None = None
    t_max: float | None = None
    exposure_seconds: float | None = None
    wavelength_min_nm: float | None = None
    wavelength_max_nm: float | None = None
    resolving_power: float | None = None
    snr: float | None = None
    calib_level: int = 2
    release_name: str | None = None
    files: Sequence[AncillaryFile] = ()
    recipe: str = ""
    pipeline_version: str = ""
    phoenix_version: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)


NEW_PRODUCT_COLUMNS = tuple(
    item.name for item in fields(NewProduct) if item.name not in ("ra", "parameters", "provenance", "files")
)
"""The fields of NewProduct stored as they are, in the products column of the same name."""


@dataclass(frozen=True)
class AddedProduct:
    product: Product
    created: bool
    """False when the same file was already the CURRENT version (a redelivery)."""


@dataclass(frozen=True)
class ProductQuery:
    target: str | None = None
    """Target name or its start; case, spaces and punctuation do not matter."""
    cone: Cone | None = None
    wavelength_min_nm: float | None = None
    wavelength_max_nm: float | None = None
    """Products whose spectral coverage overlaps [min, max]; give both equal for one wavelength."""
    instrument: str | None = None
    night_from: date | None = None
    night_to: date | None = None
    min_snr: float | None = None
    release: str | None = None
    current_only: bool = True
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class ProductPage:
    products: list[Product]
    total: int
    """Matches of the whole query, not only this page; at least this many when not `total_exact`."""
    total_exact: bool = True

    def continues_after(self, end: int) -> bool:
        """Whether the query has matches beyond its first `end`."""
        return end < self.total or not self.total_exact


def make_product_id(at: datetime, index: int) -> str:
    """`PHX.<UTC timestamp, ms>.<n>`, e.g. PHX.2026-11-24T18:00:00.123.1."""
    stamp = at.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00")
    return f"PHX.{stamp}.{index}"


def lineage_key(ab_id: str, prodcatg: str, arm: str, provenance: Sequence[Provenance]) -> str:
    """What the versions of one product share: its AB, category, arm and raw inputs (not the
    master calibrations, whose improvement is a reason for a new version)."""
    raws = sorted(f"{p.name}:{p.sha256}" for p in provenance if p.kind == ProvenanceKind.RAW)
    return hashlib.sha256("\n".join([ab_id, prodcatg, arm, *raws]).encode()).hexdigest()


async def add_product(session: AsyncSession, new: NewProduct, *, at: datetime | None = None) -> AddedProduct:
    """Catalogue a product. If a CURRENT version of the same product (same AB, category, arm
    and raw inputs) exists, it becomes OBSOLETE and the new one supersedes it with the next
    version number; if that CURRENT version is the very same file, nothing changes."""
    existing = await session.get(Product, new.product_id)
    if existing is not None:
        return AddedProduct(existing, created=False)
    lineage = lineage_key(new.ab_id, new.prodcatg, new.arm, new.provenance)
    current = await _current_version(session, lineage)
    if current is not None and current.sha256 == new.sha256:
        return AddedProduct(current, created=False)
    if current is not None:
        await _make_obsolete(session, current)
    product = _product_row(new, lineage, at or utc_now(), previous=current)
    session.add(product)
    try:
        await session.flush()
    except IntegrityError as error:
        raise _ingestion_conflict(error, new) from error
    if current is not None:
        logger.info("product %s supersedes %s (version %d)", product.product_id, current.product_id, product.version)
    return AddedProduct(product, created=True)


async def get_product(session: AsyncSession, product_id: str) -> Product | None:
    """A product with its provenance and ancillary files loaded."""
    statement = (
        select(Product)
        .where(Product.product_id == product_id)
        .options(selectinload(Product.provenance), selectinload(Product.files))
    )
    return await session.scalar(statement)


async def versions_of(session: AsyncSession, product_id: str) -> list[Product]:
    """Every version of the product `product_id` is one of, oldest first."""
    lineage = select(Product.lineage_key).where(Product.product_id == product_id).scalar_subquery()
    statement = select(Product).where(Product.lineage_key == lineage).order_by(Product.version)
    return list((await session.scalars(statement)).all())


async def deprecate_product(session: AsyncSession, product_id: str) -> bool:
    """Withdraw a product without a successor; False if unknown."""
    statement = update(Product).where(Product.product_id == product_id).values(status=ProductStatus.DEPRECATED)
    return (await session.execute(statement)).rowcount == 1


async def products_of_ab(session: AsyncSession, ab_id: str) -> list[Product]:
    statement = select(Product).where(Product.ab_id == ab_id).order_by(Product.product_id)
    return list((await session.scalars(statement)).all())


async def search_products(session: AsyncSession, query: ProductQuery) -> ProductPage:
    """One page of products matching every given filter: nearest first for a cone search, by
    target then newest for a target search, newest first otherwise. Matches are counted up to
    `COUNTED_MATCHES` or the end of the page, whichever is further."""
    if not 0 < query.limit <= MAX_PAGE_SIZE:
        raise DataError(f"page size {query.limit} outside 1..{MAX_PAGE_SIZE}")
    if query.offset < 0:
        raise DataError(f"negative page offset {query.offset}")
    conditions = product_conditions(query)
    counted_up_to = max(COUNTED_MATCHES, query.offset + query.limit)
    matches = select(Product.product_id).where(*conditions).limit(counted_up_to + 1).subquery()
    counted = await session.scalar(select(func.count()).select_from(matches)) or 0
    statement = _ordered(select(Product).where(*conditions), query).limit(query.limit).offset(query.offset)
    return ProductPage(list((await session.scalars(statement)).all()), min(counted, counted_up_to),
                       total_exact=counted <= counted_up_to)


async def count_current_products(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Product).where(IS_CURRENT)) or 0


def target_key(name: str) -> str:
    """A target name as search compares it: lower-case letters and digits ("HD 20794" → "hd20794")."""
    return "".join(character for character in name.casefold() if character.isalnum())


def target_prefix_conditions(target: str) -> list[ColumnElement[bool]]:
    """Targets whose key starts with the key of `target`, as a range of the indexed key column
    ("HD" finds "HD 20794" and "hd-1"); a target without letters or digits finds nothing."""
    key = target_key(target)
    if not key:
        return [Product.target_key.is_(None)]
    following = key[:-1] + chr(ord(key[-1]) + 1)
    return [Product.target_key >= key, Product.target_key < following]


def product_conditions(query: ProductQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.current_only:
        conditions.append(IS_CURRENT)
    if query.target is not None:
        conditions.extend(target_prefix_conditions(query.target))
    if query.cone is not None:
        conditions.extend(cone_conditions(query.cone))
    if query.wavelength_min_nm is not None:
        conditions.append(Product.wavelength_max_nm >= query.wavelength_min_nm)
    if query.wavelength_max_nm is not None:
        conditions.append(Product.wavelength_min_nm <= query.wavelength_max_nm)
    if query.instrument is not None:
        conditions.append(Product.instrument == query.instrument)
    if query.night_from is not None:
        conditions.append(Product.night >= query.night_from)
    if query.night_to is not None:
        conditions.append(Product.night <= query.night_to)
    if query.min_snr is not None:
        conditions.append(Product.snr >= query.min_snr)
    if query.release is not None:
        conditions.append(Product.release_name == query.release)
    return conditions


def cone_conditions(cone: Cone) -> list[ColumnElement[bool]]:
    """A (dec, ra) box the index serves, then the exact test on unit vectors."""
    box = cone_box(cone)
    x0, y0, z0 = unit_vector(cone.ra, cone.dec)
    conditions = [Product.dec >= box.dec_min, Product.dec <= box.dec_max]
    if box.ra_ranges:
        conditions.append(or_(*(and_(Product.ra >= low, Product.ra <= high) for low, high in box.ra_ranges)))
    conditions.append(_dot_with(x0, y0, z0) >= box.min_dot)
    return conditions


def _dot_with(x0: float, y0: float, z0: float) -> ColumnElement[float]:
    return Product.x * x0 + Product.y * y0 + Product.z * z0


def _ordered(statement: Select[tuple[Product]], query: ProductQuery) -> Select[tuple[Product]]:
    """Each order but the cone's is one the indexes hold, so a page reads its rows in index order."""
    if query.cone is not None:
        return statement.order_by(_dot_with(*unit_vector(query.cone.ra, query.cone.dec)).desc(), Product.product_id)
    newest_first = (Product.ingested_at.desc(), Product.product_id.desc())
    if query.target is not None:
        return statement.order_by(Product.target_key, *newest_first)
    return statement.order_by(*newest_first)


async def _current_version(session: AsyncSession, lineage: str) -> Product | None:
    statement = select(Product).where(Product.lineage_key == lineage, Product.status == ProductStatus.CURRENT)
    return await session.scalar(statement)


async def _make_obsolete(session: AsyncSession, current: Product) -> None:
    # Guarded on CURRENT: if another ingestor superseded it meanwhile, retry from the start.
    statement = (
        update(Product)
        .where(Product.product_id == current.product_id, Product.status == ProductStatus.CURRENT)
        .values(status=ProductStatus.OBSOLETE)
        .execution_options(synchronize_session="fetch")
    )
    if (await session.execute(statement)).rowcount != 1:
        raise TransientError(f"product {current.product_id} was superseded concurrently")


def _product_row(new: NewProduct, lineage: str, at: datetime, previous: Product | None) -> Product:
    ra = normalised_ra(new.ra) if new.ra is not None else None
    x, y, z = unit_vector(ra, new.dec) if ra is not None and new.dec is not None else (None, None, None)
    copied = {name: getattr(new, name) for name in NEW_PRODUCT_COLUMNS}
    return Product(
        **copied,
        lineage_key=lineage,
        target_key=target_key(new.target_name),
        ra=ra,
        x=x,
        y=y,
        z=z,
        status=ProductStatus.CURRENT,
        version=previous.version + 1 if previous is not None else 1,
        supersedes=previous.product_id if previous is not None else None,
        ingested_at=at,
        parameters=dict(new.parameters),
        provenance=[ProductProvenance(kind=p.kind, name=p.name, sha256=p.sha256) for p in new.provenance],
        files=[ProductFile(kind=f.kind, name=f.name, uri=f.uri, size_bytes=f.size_bytes) for f in new.files],
    )


# How each database names the two unique keys a concurrent ingestion of the same product hits.
RACE_CONSTRAINTS = ("uq_products_lineage_current", "products.lineage_key", "pk_products", "products.product_id")


def _ingestion_conflict(error: IntegrityError, new: NewProduct) -> Exception:
    if any(name in str(error.orig) for name in RACE_CONSTRAINTS):
        return TransientError(f"product {new.product_id} was ingested concurrently by another writer")
    return DataError(f"product {new.product_id} breaks a catalogue constraint: {error.orig}")
