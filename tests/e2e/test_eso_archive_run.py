"""`phoenix run … --archive eso:http://127.0.0.1:PORT`: a simulated night read only through ESO's
interface of the stand-in (TAP dbo.raw, calSelector, data portal `.fits.Z`), processed to ingested IDPs;
then IDP mode on a fresh ledger, with the certified masters calSelector (Raw2Master) names.

The night is the blue arm only (6 ABs): what crosses ESO's interface does not depend on the arm,
and the red arm's two chips would double the pipeline's work (test_chain.py runs both arms)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import PHOENIX
from tools.processes import ChildProcess

pytestmark = [pytest.mark.kafka, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(1500)]

NIGHT = "2024-03-01"


def _run(archive: str, data: Path, cache: Path, mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")} | {"PHOENIX_CACHE_DIR": str(cache)}
    result = subprocess.run([PHOENIX, "run", "UVES_ECHELLE", NIGHT, "--mode", mode, "--archive", archive,
                             "--data", str(data), "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_a_simulated_night_runs_end_to_end_through_esos_interface(blue_archive: Path, tmp_path: Path) -> None:
    server = ChildProcess(["archive", "serve", "--root", str(blue_archive), "--port", "0"], {}, tmp_path / "archive.log")
    try:
        url = server.wait_for_log("archive=", 60).split("archive=", 1)[1].strip()
        cache = tmp_path / "cache"
        summary = _run(f"eso:{url}", tmp_path / "data", cache, "COMPLETE")
        assert {ab["state"] for ab in summary["abs"]} == {"INGESTED"}, summary
        science = [ab for ab in summary["abs"] if ab["raw_type"].startswith("SCI_")]
        assert len(science) == 1 and all(any(p.startswith("PHX.") for p in ab["product_ids"]) for ab in science)
        frames = list((blue_archive / "raw" / "UVES" / NIGHT).glob("UVES.*.fits"))
        cached = {path.stem for path in cache.rglob("UVES.*.json")}
        assert cached == {path.name.removesuffix(".fits") for path in frames}, "every frame came from the data portal"

        idp = _run(f"eso:{url}", tmp_path / "idp-data", cache, "IDP")
        assert [ab["state"] for ab in idp["abs"] if ab["raw_type"].startswith("SCI_")] == ["INGESTED"]
        assert list(cache.rglob("M.*.json")), "calSelector named certified masters and they were fetched"
        log = (tmp_path / "idp-data" / "logs" / "fetcher.log").read_text()
        assert "/calselector/v1/associations" in log and "/tap_obs/sync" in log
    finally:
        server.stop()
