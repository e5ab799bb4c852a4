"""The ingestor against real parts: the archive database (SQLite file and PostgreSQL), a real
archive server on 127.0.0.1 for the calibration store, and folders for the file stores."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.ingestor.adapters.archive_db import save_releases
from services.ingestor.releases import load_all_releases
from services.ingestor.service import IngestorContext
from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.files import ArchiveFiles
from shared.archive.settings import sqlite_url
from shared.contracts import (
    Association,
    AssociationBlock,
    CalibrationRole,
    Certified,
    Decision,
    ProcessingMode,
    Product,
    ProductKind,
    RawFrame,
    StagedFile,
)
from shared.rawarchive.client import RawArchiveClient
from shared.serving import serve_in_background
from shared.storage import FileStore
from tests.integration.archive.conftest import DATABASES, throwaway_postgres_database
from tests.support.storage import folder_store
from tests.unit.ingestor.sdp_files import PREVIEW, RAW_FILES
from tools.archive.server import create_app
from tools.archive.settings import ArchiveServerSettings

NIGHT = date(2024, 3, 1)
REQUEST = uuid.UUID("3f0c1e52-2f6c-4c7e-a2f1-0d6f1f7c9b10")
CERTIFIED_AT = datetime(2026, 11, 24, 18, 0, 0, 123000, tzinfo=UTC)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "phoenix.db")
        return
    yield from throwaway_postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[ArchiveDatabase]:
    await upgrade_to_head(database_url)
    database = ArchiveDatabase(database_url)
    await save_releases(database, load_all_releases())
    yield database
    await database.close()


@pytest.fixture
def archive_root(tmp_path: Path) -> Path:
    root = tmp_path / "observatory"
    root.mkdir()
    return root


@pytest.fixture
async def archive(archive_root: Path) -> AsyncIterator[RawArchiveClient]:
    async with serve_in_background(create_app(ArchiveServerSettings(root=archive_root))) as url:
        async with RawArchiveClient(url, timeout_seconds=10, max_attempts=2, backoff_seconds=0.01) as client:
            yield client


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return folder_store(tmp_path / "data" / "store")


@pytest.fixture
def ctx(db: ArchiveDatabase, store: FileStore, archive: RawArchiveClient) -> IngestorContext:
    return IngestorContext("ingestor@test", db, store, ArchiveFiles(store), archive, load_all_releases())


def staged(name: str) -> StagedFile:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return StagedFile(uri=f"store:sha256/{digest[:2]}/{digest}/{name}", size_bytes=1000, sha256=digest)


def science_ab(ab_id: str = "UVES_ECHELLE.2024-03-01.SCI_POINT_BLUE.4f2a9c1e") -> AssociationBlock:
    return AssociationBlock(
        ab_id=ab_id,
        ab_name=f"{RAW_FILES[0]}_tpl.ab",
        instrument="UVES",
        instrument_mode="UVES_ECHELLE",
        night=NIGHT,
        mode=ProcessingMode.IDP,
        dpr_catg="SCIENCE",
        raw_type="SCI_POINT_BLUE",
        recipe="uves_obs_scired",
        mjd_obs=60370.9667,
        mjd_obs_mod=60370.9736,
        raw_match_key={"DET.WIN1.BINX": "1"},
        raw_files=[RawFrame(arcfile=name, category="SCI_POINT_BLUE", mjd_obs=60370.9667, exposure_seconds=1200.0,
                            staged=staged(name)) for name in RAW_FILES],
        calibrations=[
            Association(evaluation="OK", role=CalibrationRole.MCALIB, file="UVES.MASTER_BIAS_BLUE.2024-03-01.aaaa.fits",
                        pro_catg="MASTER_BIAS_BLUE", delta_days=0.5, staged=staged("mbias")),
            Association(evaluation="OK", role=CalibrationRole.MASSOC, file="UVES.MASTER_DARK_BLUE.2024-03-01.bbbb.fits",
                        pro_catg="MASTER_DARK_BLUE", delta_days=0.7, staged=staged("mdark")),
        ],
    )


def bias_ab(ab_id: str = "UVES_ECHELLE.2024-03-01.BIAS_BLUE.0a1b2c3d") -> AssociationBlock:
    return science_ab(ab_id).model_copy(update={
        "mode": ProcessingMode.MCALIB, "dpr_catg": "CALIB", "raw_type": "BIAS_BLUE", "recipe": "uves_cal_mbias",
        "calibrations": [],
    })


@dataclass
class Products:
    """Puts files into the working store and describes them as the certifier passes them on."""

    store: FileStore

    async def idp(self, path: Path) -> Product:
        return Product(name=path.name, pro_catg="SCIENCE.SPECTRUM", kind=ProductKind.IDP, file=await self.store.put(path))

    async def preview(self, folder: Path) -> Product:
        path = folder / PREVIEW
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG\r\n\x1a\n preview of the spectrum")
        return Product(name=PREVIEW, pro_catg="ANCILLARY.PREVIEW", kind=ProductKind.ANCILLARY,
                       file=await self.store.put(path))

    async def master(self, path: Path, pro_catg: str) -> Product:
        return Product(name=path.name, pro_catg=pro_catg, kind=ProductKind.MCALIB, file=await self.store.put(path))


@pytest.fixture
def products(store: FileStore) -> Products:
    return Products(store)


def certified(ab: AssociationBlock, products: list[Product], *, decision: Decision = Decision.CERTIFIED,
              reason: str = "all 12 scored QC parameters are 0", minutes_later: int = 0) -> Certified:
    return Certified(
        correlation_id=REQUEST,
        ab=ab,
        decision=decision,
        policy="NONZERO",
        reason=reason,
        products=products,
        produced_by="certifier@0.1.0",
        produced_at=CERTIFIED_AT + timedelta(minutes=minutes_later),
    )
