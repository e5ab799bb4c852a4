"""A second instrument from data alone: a simulated GIRAFFE night through `phoenix run` in MCALIB mode.

Master bias and master dark are made by the real gimasterbias/gimasterdark, scored (every QC
value against a threshold or informational, none unscored), certified,
registered in the calibration store and shown on the history site; the fibre flat and the
science frame cannot be reduced without GIRAFFE's static calibrations and say so.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections import Counter
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.support.processes import PHOENIX, running_portal
from tools.simulator.giraffe import GiraffeNight, archive_night_folder, simulate_giraffe_night

pytestmark = [pytest.mark.kafka, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(900)]

NIGHT = date(2024, 3, 1)


def phoenix_run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    return subprocess.run([PHOENIX, "run", "GIRAFFE_MEDUSA", NIGHT.isoformat(), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def giraffe_archive(tmp_path: Path) -> Path:
    """3 biases, 3 darks, a MEDUSA fibre flat and a science frame, full 2148x4096 frames
    (gimasterbias crashes in its QC on windows smaller than the chip)."""
    root = tmp_path / "archive"
    simulate_giraffe_night(GiraffeNight(night=NIGHT, preset="small"), archive_night_folder(root, NIGHT))
    return root


def test_a_giraffe_night_makes_certified_masters_and_names_what_it_cannot_reduce(giraffe_archive: Path,
                                                                                  tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = phoenix_run("--mode", "MCALIB", "--archive", str(giraffe_archive), "--data", str(data), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    abs_by_type = {ab["raw_type"]: ab for ab in json.loads(result.stdout)["abs"]}
    assert {t: ab["state"] for t, ab in abs_by_type.items()} == {
        "BIAS": "INGESTED", "DARK": "INGESTED", "FIBER_FLAT": "INCOMPLETE"}
    assert "no GRATING_DATA" in abs_by_type["FIBER_FLAT"]["reason"]
    assert "no SLIT_GEOMETRY_MASTER" in abs_by_type["FIBER_FLAT"]["reason"]
    assert abs_by_type["BIAS"]["scores"]["master_bias.fits:QC.OUT1.RON.RAW"] == 0
    assert abs_by_type["DARK"]["scores"]["master_dark.fits:QC.DARK.CURRENT"] == 0
    with sqlite3.connect(f"file:{data / 'phoenix.db'}?mode=ro", uri=True) as database:
        kinds = database.execute(
            "SELECT parameter, CASE WHEN informational THEN 'informational' WHEN score IS NULL THEN 'unscored' "
            "WHEN score = 1 THEN 'outlier' "
            "ELSE 'scored' END FROM qc1_values").fetchall()
    assert Counter(kind for _, kind in kinds) == {"scored": 8, "informational": 5}, kinds

    registry = json.loads((giraffe_archive / "calib" / "GIRAFFE" / ".registry.json").read_text())["entries"]
    masters = {entry["pro_catg"]: entry for entry in registry.values()}
    assert set(masters) == {"MASTER_BIAS", "MASTER_DARK"}
    assert masters["MASTER_BIAS"]["setting"]["DET.READ.CLOCK"] == "225kHz,1port,Low_gain"
    science = next(path.name for path in sorted((archive_night_folder(giraffe_archive, NIGHT)).glob("*.fits"))
                   if "T01:30" in path.name)
    jobs = [json.loads(path.read_text()) for path in data.glob("**/jobs/*/result.json")]
    assert {job["recipe"]: job["pipeline_version"].split("-")[0] for job in jobs} == {
        "gimasterbias": "giraf", "gimasterdark": "giraf"}
    fetcher_log = (data / "logs" / "fetcher.log").read_text()
    assert f"not used: {science} (SCIENCE): SCIENCE frame: MCALIB mode makes master calibrations only" in fetcher_log

    with running_portal(data, tmp_path) as url:
        page = httpx.get(f"{url}/history/GIRAFFE_MEDUSA/{NIGHT}", timeout=30)
        assert page.status_code == 200
        assert all(abs_by_type[t]["ab_id"] in page.text for t in ("BIAS", "DARK", "FIBER_FLAT"))
        cover = httpx.get(f"{url}/history/ab/{abs_by_type['DARK']['ab_id']}", timeout=30)
        assert cover.status_code == 200 and "QC.DARK.CURRENT" in cover.text

    idp = phoenix_run("--mode", "IDP", "--archive", str(giraffe_archive), "--data", str(data), "--json")
    assert idp.returncode == 0, idp.stderr[-3000:]
    (science_ab,) = [ab for ab in json.loads(idp.stdout)["abs"] if ab["raw_type"] == "SCIENCE"]
    assert science_ab["state"] == "INCOMPLETE"
    assert "no GRATING_DATA in the calibration store" in science_ab["reason"]
    assert "MASTER_BIAS" not in science_ab["reason"], "the certified master bias of the MCALIB run was found"
