"""The portal's FastAPI app: `create_app(settings)`; `phoenix portal` serves it with uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.portal.adapters.files import ArchiveFileResolver
from services.portal.ancillary import without_server_paths
from services.portal.context import Portal
from services.portal.dependencies import PortalDep
from services.portal.history import ScoreSummary
from services.portal.middleware import (
    BodySizeLimit,
    HeadAsGet,
    PublicOrigin,
    RequestMetrics,
    RequestTargetLimits,
    SecurityHeaders,
)
from services.portal.routes import docs, history, pages, products, requests, ssa
from services.portal.schemas import Health
from services.portal.settings import PortalSettings
from shared import __version__
from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.errors import DataError, TransientError
from shared.resources import file_store
from shared.storage import StorageSettings

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
# Pages for people: their errors are pages too when a browser asks.
HTML_PREFIXES = ("/history", "/search", "/products/")


def create_app(settings: PortalSettings) -> FastAPI:
    app = FastAPI(
        title="phoenix portal",
        version=__version__,
        description="Search and download phoenix's archive products (JSON API and IVOA SSAP 1.1), "
        "follow the processing history, and submit date requests.",
        lifespan=_lifespan(settings),
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.include_router(products.router)
    app.include_router(requests.router)
    app.include_router(ssa.router)
    app.include_router(history.router)
    app.add_api_route("/healthz", healthz, methods=["GET"], response_model=Health, tags=["operations"])
    app.add_api_route("/readyz", readyz, methods=["GET"], response_model=Health, tags=["operations"],
                      responses={503: {"model": Health, "description": "the database cannot be reached"}})
    app.add_api_route("/metrics", metrics, methods=["GET"], tags=["operations"], include_in_schema=False)
    app.mount(docs.ASSETS_PREFIX, StaticFiles(directory=docs.swagger_ui_folder()), name="swagger")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _add_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestTargetLimits)
    app.add_middleware(PublicOrigin, public_url=str(settings.public_url) if settings.public_url else None)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestMetrics)
    return app


def _lifespan(settings: PortalSettings):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate:
            await upgrade_to_head(settings.database_url)
        database = ArchiveDatabase(settings.database_url)
        app.state.portal = Portal(
            settings=settings,
            db=database,
            files=ArchiveFileResolver(await file_store(StorageSettings(data_dir=settings.data_dir))),
            templates=_templates(),
        )
        logger.info("portal over %r, files in %s", database, app.state.portal.files.store.location)
        try:
            yield
        finally:
            await database.close()

    return lifespan


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["score_summary"] = ScoreSummary.of
    templates.env.filters["public"] = without_server_paths
    return templates


async def healthz(portal: PortalDep) -> Health:
    return Health(status="ok", database=portal.db.dialect)


async def readyz(portal: PortalDep) -> Response:
    """Ready to serve: the database answers a query (the process being alive is /healthz)."""
    try:
        async with portal.db.session() as session:
            await session.execute(select(1))
    except (TransientError, SQLAlchemyError) as error:
        logger.warning("not ready: %s", error)
        return JSONResponse(Health(status="unavailable", database=portal.db.dialect).model_dump(), status_code=503)
    return JSONResponse(Health(status="ok", database=portal.db.dialect).model_dump())


async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if _wants_html(request):
            return _html_error(request, error.status_code, str(error.detail))
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if _wants_html(request):
            return _html_error(request, 422, validation_message(error))
        return JSONResponse({"detail": validation_message(error), "errors": _plain(error)}, status_code=422)

    @app.exception_handler(DataError)
    async def bad_data(request: Request, error: DataError) -> Response:
        if _wants_html(request):
            return _html_error(request, 400, str(error))
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.exception_handler(TransientError)
    async def unavailable(request: Request, error: TransientError) -> JSONResponse:
        logger.warning("answering 503: %s", error)
        return JSONResponse({"detail": "the archive database is unavailable, try again shortly"}, status_code=503,
                            headers={"Retry-After": "5"})


def validation_message(error: RequestValidationError) -> str:
    """One readable line, e.g. "query ra: Input should be less than or equal to 360"."""
    return "; ".join(f"{' '.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors())


def _plain(error: RequestValidationError) -> list[dict[str, object]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]


def _wants_html(request: Request) -> bool:
    path = request.url.path
    page = path == "/" or path.startswith(HTML_PREFIXES)
    return page and "text/html" in request.headers.get("accept", "")


def _html_error(request: Request, status: int, message: str) -> Response:
    portal: Portal = request.app.state.portal
    return portal.templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )


