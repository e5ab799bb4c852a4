"""The observatory archive's calibration store, where certified masters go for later ABs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.rawarchive.client import RawArchiveClient
from shared.rawarchive.models import CalibInfo


@dataclass(frozen=True)
class RegisteredMaster:
    """A master the calibration store holds, and the one it retired in its favour (if any)."""

    ab_id: str
    info: CalibInfo
    replaced: CalibInfo | None


async def register_master(archive: RawArchiveClient, path: Path, name: str, instrument: str, ab_id: str) -> RegisteredMaster:
    """Upload a certified master (the same name and content again is a no-op for the store);
    the store retires the current master of the same PRO.CATG, setting and night."""
    info = await archive.upload_calib(path, name=name, instrument=instrument)
    replaced = await _find(archive, info, instrument) if info.replaces else None
    return RegisteredMaster(ab_id, info, replaced)


async def _find(archive: RawArchiveClient, info: CalibInfo, instrument: str) -> CalibInfo | None:
    listed = await archive.list_calib(instrument, pro_catg=info.pro_catg, include_retired=True)
    return next((other for other in listed if other.name == info.replaces), None)
