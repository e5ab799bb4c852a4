"""`/api/products`: search, metadata, product and ancillary downloads."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from services.portal.ancillary import TEXT_KINDS, without_server_paths
from services.portal.dependencies import PortalDep, SessionDep, requires
from services.portal.schemas import (
    AncillaryEntry,
    ProcessingEntry,
    ProductDetail,
    ProductLinks,
    ProductSearch,
    ProductSummary,
    ProvenanceEntry,
    SearchPage,
    VersionEntry,
)
from services.portal.search import distance_from, is_product_id, product_query
from shared.archive.catalogue import get_product, search_products, versions_of
from shared.archive.models import Product, Scope

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/products", tags=["products"])

FITS_MEDIA_TYPE = "application/fits"


@router.get("", response_model=SearchPage, dependencies=[Depends(requires(Scope.READ))])
async def search(
    request: Request, session: SessionDep, parameters: Annotated[ProductSearch, Query()]
) -> SearchPage:
    """Products matching every given filter: nearest first in a cone search, by target then newest in a
    target search, newest first otherwise."""
    query = product_query(parameters)
    page = await search_products(session, query)
    base = str(request.base_url)
    summaries = [summary_of(p, base, distance_from(query.cone, p)) for p in page.products]
    following = query.offset + query.limit
    next_url = str(request.url.include_query_params(offset=following)) if page.continues_after(following) else None
    return SearchPage(total=page.total, total_exact=page.total_exact, limit=query.limit, offset=query.offset,
                      products=summaries, next=next_url)


@router.get("/{product_id}", response_model=ProductDetail, dependencies=[Depends(requires(Scope.READ))])
async def metadata(product_id: str, request: Request, session: SessionDep) -> ProductDetail:
    """A product with its provenance, ancillary files and every version of it."""
    product = await _product_or_404(session, product_id)
    versions = await versions_of(session, product_id)
    base = str(request.base_url)
    summary = summary_of(product, base)
    return ProductDetail(
        **summary.model_dump(),
        ab_id=product.ab_id,
        supersedes=product.supersedes,
        processing=ProcessingEntry(recipe=product.recipe, pipeline_version=product.pipeline_version,
                                   phoenix_version=product.phoenix_version, parameters=product.parameters),
        provenance=[ProvenanceEntry(kind=p.kind, name=p.name, sha256=p.sha256) for p in product.provenance],
        files=[
            AncillaryEntry(kind=f.kind, name=f.name, size_bytes=f.size_bytes,
                           url=f"{base}api/products/{product.product_id}/files/{quote(f.name)}")
            for f in product.files
        ],
        versions=[
            VersionEntry(product_id=v.product_id, version=v.version, status=v.status, ingested_at=v.ingested_at,
                         supersedes=v.supersedes)
            for v in versions
        ],
    )


@router.get("/{product_id}/file", dependencies=[Depends(requires(Scope.DOWNLOAD))],
            responses={200: {"content": {FITS_MEDIA_TYPE: {}}}})
async def download(product_id: str, portal: PortalDep, session: SessionDep) -> StreamingResponse:
    """The product file, streamed from the store; ETag and X-Checksum-SHA256 carry the catalogue's SHA-256."""
    product = await _product_or_404(session, product_id)
    stored = await portal.files.find(product.access_uri)
    if stored is None:
        logger.error("product %s: file %r missing from the archive", product_id, product.access_uri)
        raise HTTPException(404, f"the file of product {product_id} is not in the archive")
    if stored.size_bytes != product.file_size_bytes:
        logger.error("product %s: file size differs from the catalogue", product_id)
        raise HTTPException(409, f"the file of product {product_id} differs from its catalogue entry")
    return stored.response(f"{product.product_id}.fits", media_type=FITS_MEDIA_TYPE,
                           headers={"ETag": f'"{product.sha256}"', "X-Checksum-SHA256": product.sha256})


@router.get("/{product_id}/files/{name}", dependencies=[Depends(requires(Scope.READ))])
async def ancillary(product_id: str, name: str, portal: PortalDep, session: SessionDep) -> Response:
    """An ancillary file of a product (preview, QC report, processing log), by its catalogued name.
    A processing log is public, so the server's folders are cut from the paths it mentions."""
    product = await _product_or_404(session, product_id)
    entry = next((f for f in product.files if f.name == name), None)
    stored = await portal.files.find(entry.uri) if entry is not None else None
    if entry is None or stored is None:
        raise HTTPException(404, f"product {product_id} has no file {name!r}")
    if entry.kind in TEXT_KINDS:
        text = without_server_paths((await stored.read()).decode(errors="replace"))
        return PlainTextResponse(text, headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"})
    return stored.response(name, inline=True)


async def _product_or_404(session: SessionDep, product_id: str) -> Product:
    product = await get_product(session, product_id) if is_product_id(product_id) else None
    if product is None:
        raise HTTPException(404, f"no product {product_id!r}")
    return product


# What a summary shows of the catalogue row, under the row's own column names.
SUMMARY_COLUMNS = tuple(name for name in ProductSummary.model_fields if name not in ("distance_deg", "release", "links"))


def summary_of(product: Product, base_url: str, distance_deg: float | None = None) -> ProductSummary:
    self_url = f"{base_url}api/products/{product.product_id}"
    return ProductSummary(
        **{name: getattr(product, name) for name in SUMMARY_COLUMNS},
        distance_deg=distance_deg,
        release=product.release_name,
        links=ProductLinks(self=self_url, file=f"{self_url}/file"),
    )
