"""The GIRAFFE night simulator: headers ESO's giraf.oca classifies as intended, realistic detector levels."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from services.fetcher.classification import Classifier, keywords_from_header
from shared.errors import ConfigError
from shared.instruments.association import load_association_rules
from shared.pipeline_install import oca_rules_file
from tools.simulator.giraffe import (
    GiraffeNight,
    archive_night_folder,
    expected_electrons,
    read_out,
    schedule,
    simulate_from_arguments,
    simulate_giraffe_night,
)
from tools.simulator.giraffe_headers import Detector, GiraffeExposure, GiraffeKind, Setup, giraffe_header

NIGHT = date(2024, 3, 1)
SMALL = Detector(nx=600, ny=1000)  # a window, so that a test renders in milliseconds
CATEGORY = {
    GiraffeKind.BIAS: "BIAS",
    GiraffeKind.DARK: "DARK",
    GiraffeKind.FLAT: "FIBER_FLAT",
    GiraffeKind.ARC: "ARC_SPECTRUM",
    GiraffeKind.SCIENCE: "SCIENCE",
}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    try:
        return Classifier.from_file(oca_rules_file("giraf"))
    except ConfigError as error:
        pytest.skip(f"GIRAFFE pipeline not installed: {error}")


def demo_exposures() -> list[GiraffeExposure]:
    return schedule(GiraffeNight(night=NIGHT, preset="demo"))


@pytest.mark.parametrize("kind", list(GiraffeKind))
def test_every_simulated_frame_gets_the_category_intended_by_giraf_oca(classifier: Classifier, kind: GiraffeKind) -> None:
    exposure = next(e for e in demo_exposures() if e.kind is kind)
    result = classifier.classify(keywords_from_header(giraffe_header(exposure, Detector(), Setup())))
    assert result.category == CATEGORY[kind], result.reason


def test_the_headers_carry_what_the_pipeline_and_the_association_read() -> None:
    exposure = next(e for e in demo_exposures() if e.kind is GiraffeKind.DARK)
    keywords = keywords_from_header(giraffe_header(exposure, Detector(), Setup()))
    assert keywords["INSTRUME"] == "GIRAFFE" and keywords["ARCFILE"] == exposure.arcfile
    assert exposure.arcfile.startswith("GIRAF.2024-03-01T") and exposure.arcfile.endswith(".fits")
    pipeline_reads = {"DET.OUT1.PRSCX", "DET.OUT1.OVSCX", "DET.OUT1.PRSCY", "DET.OUT1.OVSCY", "DET.OUT1.CONAD",
                      "DET.OUT1.RON", "DET.WIN1.NX", "DET.WIN1.NY", "DET.CHIP1.PSZX", "DET.CHIP1.PSZY"}
    rules = load_association_rules("GIRAFFE_MEDUSA").rule_set_for(NIGHT)
    association_reads = {key for rule in rules.raw_types for key in rules.keywords_read(rule.raw_type)}
    assert pipeline_reads | association_reads <= keywords.keys()


def test_a_night_is_in_time_order_and_inside_the_archive_night() -> None:
    exposures = demo_exposures()
    starts = [e.start for e in exposures]
    assert starts == sorted(starts) and len(set(e.arcfile for e in exposures)) == len(exposures)
    first_noon, next_noon = f"{NIGHT}T12:00", f"{date(2024, 3, 2)}T12:00"
    assert all(first_noon <= s.isoformat() < next_noon for s in starts)
    counts = {kind: sum(e.kind is kind for e in exposures) for kind in GiraffeKind}
    assert counts == {GiraffeKind.BIAS: 5, GiraffeKind.DARK: 3, GiraffeKind.FLAT: 3, GiraffeKind.ARC: 1,
                      GiraffeKind.SCIENCE: 2}


def test_a_bias_has_the_level_the_pipeline_requires_and_the_read_noise_of_the_header() -> None:
    detector = SMALL
    bias = next(e for e in demo_exposures() if e.kind is GiraffeKind.BIAS)
    rng = np.random.default_rng(1)
    raw = read_out(expected_electrons(bias, detector, rng), bias, detector, rng).astype(float)
    assert raw.shape == (detector.ny, detector.raw_nx)
    assert 100 <= np.median(raw) < 300
    other = read_out(expected_electrons(bias, detector, rng), bias, detector, rng).astype(float)
    noise = np.std((raw - other)[:, 100:]) / np.sqrt(2)
    assert noise == pytest.approx(detector.read_noise_electrons / detector.conad_electrons_per_adu, rel=0.03)


def test_a_dark_shows_dark_current_hot_pixels_and_the_glow_corner() -> None:
    detector = SMALL
    dark = next(e for e in demo_exposures() if e.kind is GiraffeKind.DARK)
    rng = np.random.default_rng(2)
    image = read_out(expected_electrons(dark, detector, rng), dark, detector, rng).astype(float)
    active = image[:, detector.prescan : detector.prescan + detector.nx] - image[:, 5:40].mean(axis=1, keepdims=True)
    middle = active[:120, :120]  # far from the glow corner
    typical = middle[np.abs(middle - np.median(middle)) < 30]
    assert typical.mean() == pytest.approx(detector.dark_electrons_per_hour / detector.conad_electrons_per_adu, abs=0.3)
    assert np.median(active[-20:, -20:]) > 20 * typical.mean()
    assert (active > 1000).sum() > 0


def test_the_command_writes_a_deterministic_night_into_the_archive_layout(tmp_path: Path) -> None:
    plan = GiraffeNight(night=NIGHT, seed=3, preset="small")
    result = simulate_giraffe_night(plan, archive_night_folder(tmp_path / "a", NIGHT), SMALL)
    again = simulate_giraffe_night(plan, tmp_path / "b", SMALL)
    assert result.folder == tmp_path / "a" / "raw" / "GIRAFFE" / "2024-03-01"
    assert len(result.raw_files) == 8 and result.raw_files == again.raw_files
    first = result.raw_files[0]
    assert np.array_equal(fits.getdata(result.folder / first), fits.getdata(tmp_path / "b" / first))
    with pytest.raises(ConfigError, match="already holds"):
        simulate_giraffe_night(plan, result.folder, SMALL)


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown GIRAFFE preset 'huge'"):
        schedule(GiraffeNight(night=NIGHT, preset="huge"))


def test_uves_only_options_are_refused_not_ignored(tmp_path: Path) -> None:
    args = argparse.Namespace(binning="2x2", arms=None, settings=None, targets=None, seed=0, preset="small",
                              into_archive=None, out=tmp_path / "night")
    with pytest.raises(ConfigError, match="--binning: UVES-only option"):
        simulate_from_arguments(args, NIGHT)
    assert not (tmp_path / "night").exists()
