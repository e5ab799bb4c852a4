"""The session's blue-arm small night (tests/support/nights.py: a raw archive with its LINE_REFER_TABLE)
with one truncated raw file beside it, served over HTTP."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.errors import ConfigError

# The archive server over this night's archive_root, and a client of it: the raw-archive tests' fixtures.
from tests.integration.rawarchive.conftest import archive_url, client  # noqa: F401
from tests.support.nights import SMALL_NIGHT, archive_copy

NIGHT: date = SMALL_NIGHT
TRUNCATED = "UVES.2024-03-02T04:00:00.000.fits"
LINE_REFER_TABLE = "UVES_LINE_REFER_TABLE"


@pytest.fixture(scope="session")
def archive_root(blue_night_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the blue night's archive with the first 4000 bytes of a raw frame as TRUNCATED."""
    root = archive_copy(blue_night_archive, tmp_path_factory.mktemp("fetcher") / "archive")
    folder = root / "raw" / "UVES" / NIGHT.isoformat()
    (folder / TRUNCATED).write_bytes(min(folder.glob("UVES.*.fits")).read_bytes()[:4000])
    return root


@pytest.fixture(scope="session")
def classifier():
    from services.fetcher.night import load_classifier

    try:
        return load_classifier("UVES_ECHELLE")
    except ConfigError as error:
        pytest.skip(f"UVES pipeline not installed: {error}")
