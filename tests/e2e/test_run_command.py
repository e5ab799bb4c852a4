"""`phoenix run` as a user runs it: the smallest 1x1 night (blue 390 nm, one star, three biases,
three flats) in COMPLETE mode, unattended, from raw frames to an ingested IDP; then the portal
finds it, and the same command run again duplicates nothing.

One run serves every test of this module: the 1x1 night is what most real UVES data are (a 1x1
format check or wavelength calibration scored with a 2x2 limit holds the whole night), and
finding and rerunning a night do not depend on its binning or arms (test_chain.py runs both arms).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.support.processes import PHOENIX, running_portal
from tools.simulator.plan import night_plan
from tools.simulator.uves import archive_night_folder, install_static_calibrations, simulate_night

pytestmark = [pytest.mark.kafka, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(600)]

NIGHT = date(2024, 3, 1)


def phoenix_run(*args: str, timeout: float = 500) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    return subprocess.run([PHOENIX, "run", "UVES_ECHELLE", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def one_setting_1x1_archive(root: Path) -> Path:
    plan = night_plan(NIGHT, preset="small", seed=5, binning="1x1", settings=["blue390"], targets=1)
    simulate_night(plan, archive_night_folder(root, plan))
    install_static_calibrations(root)
    return root


def run_complete(archive: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return phoenix_run(NIGHT.isoformat(), "--mode", "COMPLETE", "--archive", str(archive), "--data", str(data), "--json")


@dataclass(frozen=True)
class CompletedRun:
    archive: Path
    data: Path
    summary: dict


@pytest.fixture(scope="module")
def night_run(tmp_path_factory: pytest.TempPathFactory) -> CompletedRun:
    """The 1x1 night run once in COMPLETE mode; every test of this module reads it."""
    root = tmp_path_factory.mktemp("night-1x1")
    archive, data = one_setting_1x1_archive(root / "archive"), root / "data"
    result = run_complete(archive, data)
    assert result.returncode == 0, result.stderr[-3000:]
    return CompletedRun(archive, data, json.loads(result.stdout))


def test_a_1x1_night_reaches_ingested_idps_unattended(night_run: CompletedRun) -> None:
    summary = night_run.summary
    states = {ab["raw_type"]: (ab["state"], ab["reason"]) for ab in summary["abs"]}
    assert set(states) == {"BIAS_BLUE", "ARC_LAMP_FORM_BLUE", "ORDER_FLAT_BLUE", "FLAT_BLUE", "ARC_LAMP_BLUE",
                           "SCI_POINT_BLUE"}, states
    assert {state for state, _ in states.values()} == {"INGESTED"}, states
    science = [ab for ab in summary["abs"] if ab["raw_type"].startswith("SCI_")]
    assert len(science) == 1 and all(any(p.startswith("PHX.") for p in ab["product_ids"]) for ab in science), (
        "the IDP is archived")
    assert all(set(ab) >= {"ab_id", "raw_type", "recipe", "state", "scores", "product_ids"} for ab in summary["abs"])
    assert all(score in (0, None) for ab in science for score in ab["scores"].values())

    with sqlite3.connect(f"file:{night_run.data / 'phoenix.db'}?mode=ro", uri=True) as database:
        counts = dict(database.execute(
            "SELECT CASE WHEN informational THEN 'informational' WHEN score IS NULL THEN 'unscored' "
            "ELSE 'scored' END, count(*) FROM qc1_values GROUP BY 1").fetchall())
        setting = database.execute(
            "SELECT DISTINCT setting_key FROM qc1_values WHERE raw_type = 'ARC_LAMP_FORM_BLUE'").fetchall()
    assert counts.get("unscored", 0) == 0 and counts["scored"] > 0 and counts["informational"] > 0, counts
    assert "DET.WIN1.BINX=1" in setting[0][0], "the format check is scored as a 1x1 one"


def test_the_portal_finds_every_target_with_its_processing(night_run: CompletedRun, tmp_path: Path) -> None:
    raw = night_run.archive / "raw" / "UVES" / NIGHT.isoformat()
    truths = [json.loads(p.read_text()) for p in raw.glob("*.truth.json")]
    assert truths, "the night has a science target"
    with running_portal(night_run.data, tmp_path) as url:
        for truth in truths:
            found = httpx.get(f"{url}/api/products", params={
                "ra": truth["ra_deg"], "dec": truth["dec_deg"], "radius": 0.01}, timeout=30).json()
            assert truth["object"] in {p["target_name"] for p in found["products"]}, found
        detail = httpx.get(f"{url}/api/products/{found['products'][0]['product_id']}", timeout=30).json()
        assert detail["processing"]["recipe"] == "uves_obs_scired"
        assert detail["processing"]["pipeline_version"].startswith("uves/")
        assert detail["processing"]["parameters"], "the recipe parameters are kept with the product"
        assert {p["kind"] for p in detail["provenance"]} == {"RAW", "MCALIB"}


def test_a_second_run_reuses_the_jobs_and_duplicates_no_product(night_run: CompletedRun) -> None:
    again = run_complete(night_run.archive, night_run.data)
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = json.loads(again.stdout)
    assert {ab["state"] for ab in rerun["abs"]} == {"INGESTED"}

    def science_products(summary: dict) -> list[str]:
        return sorted(p for ab in summary["abs"] if ab["raw_type"].startswith("SCI_") for p in ab["product_ids"])

    assert science_products(rerun) == science_products(night_run.summary), (
        "a second run reuses the jobs and duplicates no product")


def test_unknown_mode_unreachable_archive_and_empty_night_fail_clearly(blue_archive: Path, tmp_path: Path) -> None:
    result = subprocess.run([PHOENIX, "run", "HARPS_ECHELLE", NIGHT.isoformat(), "--archive", str(blue_archive)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown instrument mode 'HARPS_ECHELLE'" in result.stderr
    result = phoenix_run(NIGHT.isoformat(), "--archive", "http://127.0.0.1:9", "--data", str(tmp_path / "d"),
                         timeout=120)
    assert result.returncode == 2 and "cannot be reached" in result.stderr
    result = phoenix_run("2024-03-05", "--archive", str(blue_archive), "--data", str(tmp_path / "d"), timeout=120)
    assert result.returncode == 2 and "no UVES raw data for 2024-03-05" in result.stderr
