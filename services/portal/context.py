"""What every route reaches through `request.app.state.portal`: built in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.templating import Jinja2Templates

from services.portal.adapters.files import ArchiveFileResolver
from services.portal.settings import PortalSettings
from shared.archive import ArchiveDatabase


@dataclass
class Portal:
    settings: PortalSettings
    db: ArchiveDatabase
    files: ArchiveFileResolver
    templates: Jinja2Templates
