"""`phoenix run` as a user runs it: a simulated night in COMPLETE mode, then the portal finds it.

The night is the blue arm only (6 ABs): running, finding and rerunning do not depend on the arm,
and the red arm's two chips would double the pipeline's work (test_chain.py runs both arms)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.processes import PHOENIX, running_portal

pytestmark = [pytest.mark.kafka, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(600)]

NIGHT = "2024-03-01"


def phoenix_run(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    return subprocess.run([PHOENIX, "run", "UVES_ECHELLE", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_a_night_runs_in_complete_mode_and_every_target_is_found(blue_archive: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = phoenix_run(NIGHT, "--mode", "COMPLETE", "--archive", str(blue_archive), "--data", str(data), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    states = {ab["raw_type"]: ab["state"] for ab in summary["abs"]}
    assert set(states.values()) == {"INGESTED"}, summary
    science = [ab for ab in summary["abs"] if ab["raw_type"].startswith("SCI_")]
    assert len(science) == 1 and all(any(p.startswith("PHX.") for p in ab["product_ids"]) for ab in science)
    assert all(set(ab) >= {"ab_id", "raw_type", "recipe", "state", "scores", "product_ids"} for ab in summary["abs"])
    assert all(score in (0, None) for ab in science for score in ab["scores"].values())

    truths = [json.loads(p.read_text()) for p in (blue_archive / "raw" / "UVES" / NIGHT).glob("*.truth.json")]
    with running_portal(data, tmp_path) as url:
        for truth in truths:
            found = httpx.get(f"{url}/api/products", params={
                "ra": truth["ra_deg"], "dec": truth["dec_deg"], "radius": 0.01}, timeout=30).json()
            assert truth["object"] in {p["target_name"] for p in found["products"]}, found
        detail = httpx.get(f"{url}/api/products/{found['products'][0]['product_id']}", timeout=30).json()
        assert detail["processing"]["recipe"] == "uves_obs_scired"
        assert detail["processing"]["pipeline_version"].startswith("uves/")
        assert detail["processing"]["parameters"], "the recipe parameters are kept with the product"
        assert {p["kind"] for p in detail["provenance"]} == {"RAW", "MCALIB"}

    again = phoenix_run(NIGHT, "--mode", "COMPLETE", "--archive", str(blue_archive), "--data", str(data), "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = json.loads(again.stdout)
    assert {ab["state"] for ab in rerun["abs"]} == {"INGESTED"}
    products_before = sorted(p for ab in science for p in ab["product_ids"])
    products_after = sorted(p for ab in rerun["abs"] if ab["raw_type"].startswith("SCI_") for p in ab["product_ids"])
    assert products_after == products_before, "a second run reuses the jobs and duplicates no product"


def test_unknown_mode_unreachable_archive_and_empty_night_fail_clearly(blue_archive: Path, tmp_path: Path) -> None:
    result = subprocess.run([PHOENIX, "run", "HARPS_ECHELLE", NIGHT, "--archive", str(blue_archive)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown instrument mode 'HARPS_ECHELLE'" in result.stderr
    result = phoenix_run(NIGHT, "--archive", "http://127.0.0.1:9", "--data", str(tmp_path / "d"), timeout=120)
    assert result.returncode == 2 and "cannot be reached" in result.stderr
    result = phoenix_run("2024-03-05", "--archive", str(blue_archive), "--data", str(tmp_path / "d"), timeout=120)
    assert result.returncode == 2 and "no UVES raw data for 2024-03-05" in result.stderr
