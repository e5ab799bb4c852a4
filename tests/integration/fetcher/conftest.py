"""A simulated UVES night (blue arm, small preset) in a raw archive with a LINE_REFER_TABLE, served over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.rawarchive.client import RawArchiveClient
from shared.serving import serve_in_background
from tools.archive.server import create_app
from tools.archive.settings import ArchiveServerSettings
from tools.simulator.plan import night_plan
from tools.simulator.thar import write_line_refer_table
from tools.simulator.uves import archive_night_folder, simulate_night

NIGHT = date(2024, 3, 1)
TRUNCATED = "UVES.2024-03-02T04:00:00.000.fits"
LINE_REFER_TABLE = "UVES_LINE_REFER_TABLE"


@pytest.fixture(scope="session")
def archive_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fetcher-archive")
    plan = night_plan(NIGHT, preset="small", arms=["blue"])
    folder = archive_night_folder(root, plan)
    result = simulate_night(plan, folder)
    truncated = folder / TRUNCATED
    truncated.write_bytes((folder / result.raw_files[0]).read_bytes()[:4000])
    write_line_refer_table(root / "calib" / "UVES" / f"{LINE_REFER_TABLE}.fits")
    return root


@pytest.fixture
async def archive_url(archive_root: Path) -> AsyncIterator[str]:
    async with serve_in_background(create_app(ArchiveServerSettings(root=archive_root))) as url:
        yield url


@pytest.fixture
async def client(archive_url: str) -> AsyncIterator[RawArchiveClient]:
    async with RawArchiveClient(archive_url, timeout_seconds=10, max_attempts=3, backoff_seconds=0.01) as archive:
        yield archive


@pytest.fixture(scope="session")
def classifier():
    from services.fetcher.night import load_classifier

    try:
        return load_classifier("UVES_ECHELLE")
    except ConfigError as error:
        pytest.skip(f"UVES pipeline not installed: {error}")
