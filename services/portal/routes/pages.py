"""The astronomer's pages: the landing page, the search form with its results, and a product page
(spectrum preview first, then provenance and the QC summary)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from services.portal.dependencies import PortalDep, SessionDep, requires
from services.portal.history import QcSummary, score_tone
from services.portal.schemas import ProductSearch
from services.portal.search import distance_from, is_product_id, product_query
from shared.archive import catalogue, qc1
from shared.archive.models import Scope
from shared.instruments import known_modes

router = APIRouter(include_in_schema=False, dependencies=[Depends(requires(Scope.READ))])

PAGE_SIZE = 50


def _page(request: Request, portal: PortalDep, template: str, **context: Any) -> HTMLResponse:
    return portal.templates.TemplateResponse(request, template, {**context, "score_tone": score_tone})


@router.get("/", response_class=HTMLResponse)
async def landing(request: Request, portal: PortalDep, session: SessionDep) -> HTMLResponse:
    products = await catalogue.count_current_products(session)
    return _page(request, portal, "landing.html", products=products, modes=known_modes())


@router.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request, portal: PortalDep, session: SessionDep, parameters: Annotated[ProductSearch, Query()]
) -> HTMLResponse:
    form = parameters.model_copy(update={"limit": min(parameters.limit, PAGE_SIZE)})
    if not form.given:
        return _page(request, portal, "search.html", form=form, page=None, rows=[])
    query = product_query(form)
    page = await catalogue.search_products(session, query)
    rows = [(product, distance_from(query.cone, product)) for product in page.products]
    following = form.offset + form.limit
    return _page(
        request, portal, "search.html", form=form, page=page, rows=rows,
        next_url=request.url.include_query_params(offset=following) if page.continues_after(following) else None,
        previous_url=request.url.include_query_params(offset=max(0, form.offset - form.limit)) if form.offset else None,
    )


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def product_page(product_id: str, request: Request, portal: PortalDep, session: SessionDep) -> HTMLResponse:
    product = await catalogue.get_product(session, product_id) if is_product_id(product_id) else None
    if product is None:
        raise HTTPException(404, f"no product {product_id!r}")
    return _page(
        request, portal, "product.html",
        product=product,
        previews=[f for f in product.files if f.kind == "PREVIEW"],
        other_files=[f for f in product.files if f.kind != "PREVIEW"],
        versions=await catalogue.versions_of(session, product_id),
        qc=QcSummary.of(await qc1.qc1_of_ab(session, product.ab_id)),
    )
