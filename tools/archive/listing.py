"""An archive folder's listings read from its stores: what the archive app answers to `/api/raw`
and `/api/calib`, for a caller in the same process that only lists (`shared.rawarchive.listing`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from shared.rawarchive.models import CalibInfo, RawFileInfo
from tools.archive.settings import ArchiveServerSettings
from tools.archive.store import night_range, stores


class FolderListing:
    def __init__(self, root: Path) -> None:
        settings = ArchiveServerSettings(root=root)
        self._raw, self._calib = stores(settings)
        self._max_nights = settings.max_nights_per_listing
        self.base_url = str(root)

    async def list_raw(self, instrument: str, night: date | str, night_to: date | str | None = None) -> list[RawFileInfo]:
        first, last = night_range(
            date.fromisoformat(str(night)),
            date.fromisoformat(str(night_to)) if night_to is not None else None,
            self._max_nights,
        )
        return await asyncio.to_thread(self._raw.list_nights, instrument, first, last)

    async def list_calib(self, instrument: str, pro_catg: str | None = None, include_retired: bool = False) -> list[CalibInfo]:
        return await asyncio.to_thread(self._calib.list, instrument, pro_catg, include_retired)

    async def associated_raw(self, instrument: str, frames: Iterable[RawFileInfo]) -> list[RawFileInfo]:
        """None: the archive associates nothing itself; the OCA rules do, within the listed nights."""
        return []

    async def certified_masters(self, instrument: str, frames: Iterable[RawFileInfo]) -> list[CalibInfo]:
        """None beyond `list_calib`: the calibration store holds every certified master it knows."""
        return []
