"""Writing a night: layout, truth files, determinism, and all-or-nothing output (needs the pipeline's model)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from astropy.io import fits

from shared.cli import main
from shared.errors import ConfigError
from tools.simulator import uves
from tools.simulator.plan import NightPlan, night_plan
from tools.simulator.uves import archive_night_folder, simulate_night

pytestmark = pytest.mark.esorex

NIGHT = date(2024, 3, 1)


def tiny_plan(seed: int = 3) -> NightPlan:
    plan = night_plan(NIGHT, "small", seed=seed, arms=["blue"])
    return plan.model_copy(
        update={"biases": 1, "flats": 1, "format_checks": 0, "order_definitions": 0, "arcs": 0}
    )


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_files(tmp_path):
    first = simulate_night(tiny_plan(), tmp_path / "a")
    simulate_night(tiny_plan(), tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert len(first.raw_files) == 3 and len(first.truth_files) == 1


def test_science_truth_sits_beside_its_raw_file(tmp_path):
    result = simulate_night(tiny_plan(), tmp_path / "night")
    truth_name = result.truth_files[0]
    truth = json.loads((tmp_path / "night" / truth_name).read_text())
    raw = tmp_path / "night" / truth["arcfile"]
    assert truth_name == truth["arcfile"].removesuffix(".fits") + ".truth.json"
    header = fits.getheader(raw)
    assert header["OBJECT"] == truth["object"]
    assert header["RA"] == pytest.approx(truth["ra_deg"], abs=1e-5)
    assert header["DEC"] == pytest.approx(truth["dec_deg"], abs=1e-5)
    assert len(truth["lines_rest_air_angstrom"]) == len(truth["line_depths"]) > 100
    assert set(truth["expected_snr"]) == {"blue", "redl", "redu"}
    assert 10 < truth["expected_snr"]["blue"] < 500
    assert isinstance(truth["rv_kms"], float)


def test_into_archive_layout(tmp_path):
    assert (
        main(
            [
                "simulate",
                "UVES",
                "--night",
                "2024-03-01",
                "--preset",
                "small",
                "--arms",
                "blue",
                "--into-archive",
                str(tmp_path),
                "--seed",
                "2",
            ]
        )
        == 0
    )
    folder = tmp_path / "raw" / "UVES" / "2024-03-01"
    assert folder == archive_night_folder(tmp_path, night_plan(NIGHT, "small"))
    names = sorted(p.name for p in folder.iterdir())
    assert all(name.startswith("UVES.") for name in names)
    assert any(name.endswith(".truth.json") for name in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calib", "raw"]
    [static] = (tmp_path / "calib" / "UVES").iterdir()
    assert static.name == "UVES_LINE_REFER_TABLE.fits", "the static calibration kit is installed"
    assert fits.getheader(static)["HIERARCH ESO PRO CATG"] == "LINE_REFER_TABLE"


def test_failure_half_way_leaves_nothing(tmp_path, monkeypatch):
    written = []
    real_raw_file = uves.raw_file

    def failing_raw_file(exposure, electrons, rng):
        if len(written) == 2:
            raise RuntimeError("disk full")
        written.append(exposure.arcfile)
        return real_raw_file(exposure, electrons, rng)

    monkeypatch.setattr(uves, "raw_file", failing_raw_file)
    with pytest.raises(RuntimeError):
        simulate_night(tiny_plan(), tmp_path / "night")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_target_is_a_config_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="cannot write"):
        simulate_night(tiny_plan(), blocker / "night")
    assert main(["simulate", "UVES", "--night", "2024-03-01", "--out", str(blocker / "night")]) == 2


def test_existing_frames_are_not_overwritten(tmp_path):
    simulate_night(tiny_plan(), tmp_path / "night")
    before = digests(tmp_path / "night")
    with pytest.raises(ConfigError, match="already holds"):
        simulate_night(tiny_plan(), tmp_path / "night")
    assert digests(tmp_path / "night") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night"]
