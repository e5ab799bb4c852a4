"""A real archive server (uvicorn on 127.0.0.1, free port) over a folder of small synthetic frames."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.rawarchive.client import RawArchiveClient
from shared.serving import serve_in_background
from tests.unit.rawarchive.synthetic import write_raw
from tools.archive.server import create_app
from tools.archive.settings import ArchiveServerSettings

NIGHT = "2024-03-01"
NEXT_NIGHT = "2024-03-02"
BIAS = "UVES.2024-03-01T21:00:00.000.fits"
FLAT = "UVES.2024-03-01T21:10:00.000.fits"
RED_SCIENCE = "UVES.2024-03-02T03:00:00.000.fits"
TRUNCATED = "UVES.2024-03-02T04:00:00.000.fits"
EMPTY = "UVES.2024-03-02T05:00:00.000.fits"
NEXT_BIAS = "UVES.2024-03-02T21:00:00.000.fits"


def fill_archive(root: Path) -> None:
    write_raw(root, NIGHT, BIAS)
    write_raw(root, NIGHT, FLAT, **{"DPR.TYPE": "LAMP,FLAT", "OBJECT": "LAMP,FLAT", "EXPTIME": 5.0})
    write_raw(
        root, NIGHT, RED_SCIENCE, chips=("EEV", "MIT"),
        **{"DPR.CATG": "SCIENCE", "DPR.TYPE": "OBJECT", "DPR.TECH": "ECHELLE", "OBJECT": "HD 1234",
           "INS.PATH": "RED", "DET.CHIPS": 2, "INS.GRAT2.WLEN": 580.0, "EXPTIME": 600.0},
    )
    (root / "raw" / "UVES" / NIGHT / RED_SCIENCE.replace(".fits", ".truth.json")).write_text('{"object": "HD 1234"}')
    truncated = write_raw(root, NIGHT, TRUNCATED)
    truncated.write_bytes(truncated.read_bytes()[:4000])
    (root / "raw" / "UVES" / NIGHT / EMPTY).touch()
    write_raw(root, NEXT_NIGHT, NEXT_BIAS)


@pytest.fixture
def archive_root(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    fill_archive(root)
    return root


@pytest.fixture
async def archive_url(archive_root: Path) -> AsyncIterator[str]:
    async with serve_in_background(create_app(ArchiveServerSettings(root=archive_root))) as url:
        yield url


@pytest.fixture
async def client(archive_url: str) -> AsyncIterator[RawArchiveClient]:
    async with RawArchiveClient(archive_url, timeout_seconds=10, max_attempts=2, backoff_seconds=0.01) as archive:
        yield archive
