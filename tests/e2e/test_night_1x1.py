"""A 1x1 night runs unattended: `phoenix run` in COMPLETE mode takes the smallest 1x1 night (blue
390 nm, one star) from raw frames to an ingested IDP with no AB held for review, and every QC value
it records is scored or informational.

Kept small on purpose (one setting, three biases, three flats): most real UVES data are 1x1, and a
1x1 format check or wavelength calibration scored with a 2x2 limit holds the whole night.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import pytest

from tests.support.processes import PHOENIX
from tools.simulator.plan import night_plan
from tools.simulator.uves import archive_night_folder, install_static_calibrations, simulate_night

pytestmark = [pytest.mark.kafka, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(600)]

NIGHT = date(2024, 3, 1)


def one_setting_1x1_archive(root: Path) -> Path:
    plan = night_plan(NIGHT, preset="small", seed=5, binning="1x1", settings=["blue390"], targets=1)
    simulate_night(plan, archive_night_folder(root, plan))
    install_static_calibrations(root)
    return root


def test_a_1x1_night_reaches_ingested_idps_unattended(tmp_path: Path) -> None:
    archive = one_setting_1x1_archive(tmp_path / "archive")
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    result = subprocess.run(
        [PHOENIX, "run", "UVES_ECHELLE", NIGHT.isoformat(), "--mode", "COMPLETE", "--archive", str(archive),
         "--data", str(data), "--json"], env=env, capture_output=True, text=True, timeout=500)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    states = {ab["raw_type"]: (ab["state"], ab["reason"]) for ab in summary["abs"]}
    assert set(states) == {"BIAS_BLUE", "ARC_LAMP_FORM_BLUE", "ORDER_FLAT_BLUE", "FLAT_BLUE", "ARC_LAMP_BLUE",
                           "SCI_POINT_BLUE"}, states
    assert {state for state, _ in states.values()} == {"INGESTED"}, states
    [science] = [ab for ab in summary["abs"] if ab["raw_type"] == "SCI_POINT_BLUE"]
    assert [p for p in science["product_ids"] if p.startswith("PHX.")], "the IDP is archived"

    with sqlite3.connect(f"file:{data / 'phoenix.db'}?mode=ro", uri=True) as database:
        counts = dict(database.execute(
            "SELECT CASE WHEN informational THEN 'informational' WHEN score IS NULL THEN 'unscored' "
            "ELSE 'scored' END, count(*) FROM qc1_values GROUP BY 1").fetchall())
        setting = database.execute(
            "SELECT DISTINCT setting_key FROM qc1_values WHERE raw_type = 'ARC_LAMP_FORM_BLUE'").fetchall()
    assert counts.get("unscored", 0) == 0 and counts["scored"] > 0 and counts["informational"] > 0, counts
    assert "DET.WIN1.BINX=1" in setting[0][0], "the format check is scored as a 1x1 one"
