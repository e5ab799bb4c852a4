"""`/docs`: Swagger UI from the pinned `swagger-ui-bundle-v2` wheel, served by the portal itself, so
the API documentation works offline and under the portal's own Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from services.portal.dependencies import PortalDep

router = APIRouter(include_in_schema=False)

ASSETS_PREFIX = "/static/swagger-ui"


def swagger_ui_folder() -> Path:
    return Path(str(swagger_ui_path))


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request, portal: PortalDep) -> HTMLResponse:
    return portal.templates.TemplateResponse(request, "docs.html", {})
