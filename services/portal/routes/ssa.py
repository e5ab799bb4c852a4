"""`/ssa`: IVOA Simple Spectral Access 1.1 queryData."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.portal.adapters.catalogue import ssa_products
from services.portal.dependencies import SessionDep, requires
from services.portal.ssa import SsaError, error_votable, parse_query, result_votable
from shared.archive.models import Scope
from shared.errors import DataError

router = APIRouter(tags=["ssa"])

VOTABLE_MEDIA_TYPE = "application/x-votable+xml"


@router.get(
    "/ssa",
    dependencies=[Depends(requires(Scope.READ))],
    responses={200: {"content": {VOTABLE_MEDIA_TYPE: {}}}, 400: {"content": {VOTABLE_MEDIA_TYPE: {}}}},
)
async def query_data(request: Request, session: SessionDep) -> Response:
    """SSAP 1.1 queryData: POS (ra,dec), SIZE (diameter, deg), BAND (lo/hi, m), TIME (start/end,
    ISO 8601 or MJD), TARGETNAME, FORMAT (all|compliant|native|fits|metadata), MAXREC."""
    try:
        query = parse_query(dict(request.query_params))
    except (SsaError, DataError, ValueError) as error:
        return Response(error_votable(str(error)), status_code=400, media_type=VOTABLE_MEDIA_TYPE)
    if query.metadata_only or not query.formats_match or query.maxrec == 0:
        products, overflow = [], False
    else:
        products, overflow = await ssa_products(session, query)
    body = result_votable(query, products, str(request.base_url), overflow)
    return Response(body, media_type=VOTABLE_MEDIA_TYPE)
