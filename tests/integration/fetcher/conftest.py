"""A simulated UVES night (blue arm, small preset) in a raw archive with a LINE_REFER_TABLE, served over HTTP."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.errors import ConfigError

# The archive server over this night's archive_root, and a client of it: the raw-archive tests' fixtures.
from tests.integration.rawarchive.conftest import archive_url, client  # noqa: F401
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


@pytest.fixture(scope="session")
def classifier():
    from services.fetcher.night import load_classifier

    try:
        return load_classifier("UVES_ECHELLE")
    except ConfigError as error:
        pytest.skip(f"UVES pipeline not installed: {error}")
