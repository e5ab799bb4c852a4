"""What the integration tests share: the small night reduced once by the real UVES recipe cascade,
and the request counts of the misbehaving archives the fault tests serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.simulator.chain import RecipeRun, run_cascade
from tools.simulator.thar import write_line_refer_table

ARMS = ("blue", "red")


@pytest.fixture(scope="session")
def small_night_reductions(small_night_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, RecipeRun]]:
    """arm → recipe → run: the cascade (mbias, predict, orderpos, mflat, wavecal, scired) on the
    small night, run once per session for every test that reads its QC and products; never modify them."""
    workroot = tmp_path_factory.mktemp("small-night-cascade")
    reference = write_line_refer_table(workroot / "line_refer_table.fits")
    return {arm: run_cascade(small_night_raw, arm, reference, workroot) for arm in ARMS}


@pytest.fixture
def counts() -> dict[str, int]:
    """Requests a test's misbehaving server answered, per key it chooses (a file, an endpoint)."""
    return {}
