"""`/history/...`: the processing-history website (server-rendered, histoMonitor style)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from markdown_it import MarkdownIt
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.adapters import history as queries
from services.portal.dependencies import PortalDep, SessionDep, requires
from services.portal.history import (
    NightLine,
    QcSummary,
    association_lines,
    dfos_fields,
    night_line,
    score_tone,
    state_tone,
)
from shared.archive import catalogue, ledger, qc1, releases, reviews
from shared.archive.database import read
from shared.archive.models import Scope
from shared.archive.review_queue import pending_reviews
from shared.instruments import known_modes

router = APIRouter(prefix="/history", tags=["history"], dependencies=[Depends(requires(Scope.READ))])

MODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
PARAMETER = re.compile(r"[A-Za-z0-9_.?*-]{1,128}")
NIGHTS_SHOWN = 90
# Release descriptions are written by people here, but raw HTML is still not passed through.
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def _page(request: Request, portal: PortalDep, template: str, **context: Any) -> HTMLResponse:
    context.update(state_tone=state_tone, score_tone=score_tone)
    return portal.templates.TemplateResponse(request, template, context)


@router.get("/", response_class=HTMLResponse, summary="Nights of every instrument mode")
async def index(request: Request, portal: PortalDep, session: SessionDep) -> HTMLResponse:
    modes = sorted(set(known_modes()) | set(await queries.instrument_modes(session)))
    sections = [(mode, await _night_lines(session, mode, NIGHTS_SHOWN)) for mode in modes]
    return _page(request, portal, "index.html", sections=sections, nights_shown=NIGHTS_SHOWN)


@router.get("/reviews", response_class=HTMLResponse, summary="The review queue (read-only)")
async def review_queue(request: Request, portal: PortalDep, session: SessionDep) -> HTMLResponse:
    pending = await read(session, pending_reviews, limit=500)
    return _page(request, portal, "reviews.html", reviews=pending)


@router.get("/releases/", response_class=HTMLResponse, summary="Releases of every stream")
async def release_list(request: Request, portal: PortalDep, session: SessionDep) -> HTMLResponse:
    return _page(request, portal, "releases.html", releases=await releases.list_releases(session))


@router.get("/releases/{name}", response_class=HTMLResponse, summary="A release description")
async def release_page(name: str, request: Request, portal: PortalDep, session: SessionDep) -> HTMLResponse:
    release = await releases.get_release(session, name)
    if release is None:
        raise HTTPException(404, f"no release {name!r}")
    description = MARKDOWN.render(release.description or "*No description.*")
    return _page(request, portal, "release.html", release=release, description=description)


@router.get("/ab/{ab_id}", response_class=HTMLResponse, summary="The cover sheet of an AB")
async def ab_cover_sheet(ab_id: str, request: Request, portal: PortalDep, session: SessionDep) -> HTMLResponse:
    record = await ledger.get_ab(session, ab_id)
    if record is None:
        raise HTTPException(404, f"no AB {ab_id!r}")
    products = await catalogue.products_of_ab(session, ab_id)
    detailed = [await catalogue.get_product(session, p.product_id) for p in products]
    versions = {p.product_id: await catalogue.versions_of(session, p.product_id) for p in products}
    review = await reviews.get_review(session, ab_id)
    return _page(
        request, portal, "ab.html",
        record=record,
        ab=record.ab,
        dfos=dfos_fields(record.ab),
        associations=association_lines(record.ab),
        transitions=await ledger.ab_history(session, ab_id),
        qc=QcSummary.of(await qc1.qc1_of_ab(session, ab_id)),
        products=[p for p in detailed if p is not None],
        versions=versions,
        review=review,
        review_report=bool(review and (review.event.get("report") or {}).get("uri")),
    )


@router.get("/ab/{ab_id}/qc-report", summary="The QC report plot an AB was reviewed with")
async def ab_qc_report(ab_id: str, portal: PortalDep, session: SessionDep) -> StreamingResponse:
    review = await reviews.get_review(session, ab_id)
    uri = (review.event.get("report") or {}).get("uri") if review is not None else None
    stored = await portal.files.find(uri) if isinstance(uri, str) else None
    if stored is None:
        raise HTTPException(404, f"no QC report for AB {ab_id!r}")
    return stored.response(f"{ab_id}.qc.png", media_type="image/png", inline=True)


@router.get("/qc/{mode}", response_class=HTMLResponse, summary="QC parameters of a mode, with trend plots")
async def qc_parameters(
    mode: str, request: Request, portal: PortalDep, session: SessionDep,
    raw_type: Annotated[str | None, Query(max_length=64, description="Show the plots of this RAW_TYPE.")] = None,
) -> HTMLResponse:
    _check_mode(mode)
    lines = await portal.trends.parameters(session, mode)
    raw_types = sorted({line.raw_type for line in lines})
    raw_type = raw_type or None
    if raw_type is not None and raw_type not in raw_types:
        raise HTTPException(404, f"no QC parameter of RAW_TYPE {raw_type!r} in {mode}")
    return _page(request, portal, "qc.html", mode=mode, lines=lines, raw_types=raw_types, shown=raw_type)


@router.get("/qc/{mode}/{parameter}", summary="Trend plot (PNG) of a QC parameter over every night, per RAW_TYPE",
            responses={200: {"content": {"image/png": {}}}})
async def qc_trend(
    mode: str,
    parameter: str,
    portal: PortalDep,
    session: SessionDep,
    raw_type: Annotated[str | None, Query(max_length=64, description="Only this RAW_TYPE (one panel).")] = None,
) -> Response:
    _check_mode(mode)
    if PARAMETER.fullmatch(parameter) is None:
        raise HTTPException(404, f"no QC parameter {parameter!r}")
    raw_type = raw_type or None  # an empty form value means every RAW_TYPE
    png = await portal.trends.png(session, mode, parameter, raw_type)
    if png is None:
        which = f" of RAW_TYPE {raw_type!r}" if raw_type else ""
        raise HTTPException(404, f"no QC parameter {parameter!r}{which} in {mode}")
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=300"})


@router.get("/{mode}", response_class=HTMLResponse, summary="Every night of one instrument mode")
async def mode_page(mode: str, request: Request, portal: PortalDep, session: SessionDep) -> HTMLResponse:
    _check_mode(mode)
    lines = await _night_lines(session, mode, None)
    return _page(request, portal, "mode.html", mode=mode, lines=lines)


@router.get("/{mode}/{night}", response_class=HTMLResponse, summary="The AB monitor of one night")
async def night_page(mode: str, night: str, request: Request, portal: PortalDep, session: SessionDep) -> HTMLResponse:
    _check_mode(mode)
    day = _night_or_404(night)
    abs_ = await ledger.abs_of_night(session, mode, day)
    if not abs_:
        raise HTTPException(404, f"no AB of {mode} on night {night}")
    summaries = await ledger.nights_summary(session, mode, day, day)
    ab_ids = [record.ab_id for record in abs_]
    scores = await queries.scores_per_ab(session, mode, day)
    requests = await queries.requests_of_night(session, mode, day)
    line = night_line(
        summaries[0],
        len(requests),
        (await queries.raw_types_per_night(session, mode, [day])).get(day, Counter()),
        (await queries.scores_per_night(session, mode, [day])).get(day),
    )
    return _page(
        request, portal, "night.html",
        mode=mode, night=day, line=line, abs=abs_, scores={ab_id: scores.get(ab_id) for ab_id in ab_ids},
        products=await queries.products_per_ab(session, ab_ids),
        requests=requests,
    )


async def _night_lines(session: AsyncSession, mode: str, limit: int | None) -> list[NightLine]:
    summaries = await ledger.nights_summary(session, mode)
    if limit is not None:
        summaries = summaries[:limit]
    nights = [s.night for s in summaries]
    if not nights:
        return []
    requests = await queries.requests_per_night(session, mode, nights)
    raw_types = await queries.raw_types_per_night(session, mode, nights)
    scores = await queries.scores_per_night(session, mode, nights)
    return [night_line(s, requests[s.night], raw_types.get(s.night, Counter()), scores.get(s.night)) for s in summaries]


def _check_mode(mode: str) -> None:
    if MODE.fullmatch(mode) is None:
        raise HTTPException(404, f"no instrument mode {mode!r}")


def _night_or_404(night: str) -> date:
    try:
        return date.fromisoformat(night)
    except ValueError:
        raise HTTPException(404, f"{night!r} is not a night (YYYY-MM-DD)") from None
