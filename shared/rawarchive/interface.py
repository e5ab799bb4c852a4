"""What the services need of a raw-data archive, whichever interface it speaks.

Two implementations: `client.RawArchiveClient` (phoenix's own JSON API, `/api/raw`, `/api/calib`)
and `eso.EsoArchive` (ESO's TAP `dbo.raw`, calSelector and data portal); `client.open_archive`
picks one from the archive setting. A caller that only lists opens a `RawListing` with
`listing.open_listing`, which reads a local folder's stores directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Protocol

from shared.rawarchive.models import CalibInfo, RawFileInfo


class RawListing(Protocol):
    """What a caller that only lists needs (`phoenix abs`, `phoenix run`'s check of a night)."""

    @property
    def base_url(self) -> str: ...

    async def list_raw(self, instrument: str, night: date | str, night_to: date | str | None = None) -> list[RawFileInfo]:
        """The raw frames of a night (or nights `night`..`night_to`), with their primary headers."""
        ...

    async def list_calib(self, instrument: str, pro_catg: str | None = None, include_retired: bool = False) -> list[CalibInfo]:
        """The masters in phoenix's calibration store (the ones phoenix made, and static calibrations)."""
        ...

    async def associated_raw(self, instrument: str, frames: Iterable[RawFileInfo]) -> list[RawFileInfo]:
        """Raw calibration frames the archive associates with `frames` that are not among them."""
        ...

    async def certified_masters(self, instrument: str, frames: Iterable[RawFileInfo]) -> list[CalibInfo]:
        """Certified masters the archive itself associates with `frames`, beyond `list_calib`."""
        ...


class RawArchive(RawListing, Protocol):
    async def download(self, item: str | RawFileInfo | CalibInfo, dest_path: str | Path) -> Path:
        """The file, verified against its listing, at `dest_path`."""
        ...

    async def upload_calib(self, path: str | Path, name: str | None = None, instrument: str | None = None) -> CalibInfo:
        ...

    async def retire_calib(self, name: str, instrument: str | None = None) -> CalibInfo:
        ...
