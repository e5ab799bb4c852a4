"""What every route reaches through `request.app.state.portal`: built in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.templating import Jinja2Templates

from services.portal.adapters.files import ArchiveFileResolver
from services.portal.settings import PortalSettings
from services.portal.trends import TrendCache
from shared.archive import ArchiveDatabase


@dataclass
class Portal:
    settings: PortalSettings
    db: ArchiveDatabase
    files: ArchiveFileResolver
    templates: Jinja2Templates
    trends: TrendCache = field(default_factory=TrendCache)
