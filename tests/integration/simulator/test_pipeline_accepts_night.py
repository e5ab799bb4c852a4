"""The real UVES pipeline reduces a simulated night, its QC makes sense, and the science truth comes back.

Recipes exit 0 on junk, so every check is on QC keywords and on the reduced spectra.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from astropy.io import fits

from tests.integration.simulator.chain import RecipeRun
from tests.integration.simulator.measure import SCIENCE_RESOLVING_POWER as RESOLVING_POWER
from tests.integration.simulator.measure import measure_rv, measure_snr, read_merged
from tools.simulator.geometry import instrument_format
from tools.simulator.instrument import parse_setting

pytestmark = [pytest.mark.esorex, pytest.mark.slow]

ARM_CHIPS = {"blue": ("BLUE",), "red": ("REDL", "REDU")}
SETTING = {"blue": "blue390", "red": "red580"}


def qc(run: RecipeRun, category: str, key: str) -> float:
    return run.qc(category)[f"HIERARCH ESO QC {key}"]


def sof_frames(run: RecipeRun) -> list[tuple[Path, str]]:
    return [
        (Path(path), tag)
        for path, tag in (line.split() for line in (run.workdir / "input.sof").read_text().splitlines())
    ]


@pytest.mark.parametrize("arm", ARM_CHIPS)
def test_every_recipe_made_its_products(small_night_reductions, arm):
    runs = small_night_reductions[arm]
    for recipe, run in runs.items():
        assert run.returncode == 0, f"{recipe}: {run.stdout[-2000:]}"
    for chip in ARM_CHIPS[arm]:
        for category in (
            "MASTER_BIAS",
            "LINE_GUESS_TAB",
            "ORDER_TABLE",
            "MASTER_FLAT",
            "LINE_TABLE",
            "MERGED_SCI_POINT",
            "ERRORBAR_SCI_POINT",
        ):
            assert any(f"{category}_{chip}" in run.products for run in runs.values()), f"{category}_{chip}"


@pytest.mark.parametrize("arm", ARM_CHIPS)
def test_master_bias_read_noise_matches_the_detector(small_night_reductions, arm):
    run = small_night_reductions[arm]["uves_cal_mbias"]
    bias = next(path for path, tag in sof_frames(run) if tag.startswith("BIAS"))
    raw_header = fits.getheader(bias)
    for chip in ARM_CHIPS[arm]:
        output = "OUT4" if chip == "REDL" else "OUT1"  # two-chip frames describe REDL's output as OUT4
        expected_adu = raw_header[f"HIERARCH ESO DET {output} RON"] * raw_header[f"HIERARCH ESO DET {output} GAIN"]
        assert qc(run, f"MASTER_BIAS_{chip}", f"{output} RON RAW") == pytest.approx(expected_adu, rel=0.25)


@pytest.mark.parametrize("arm", ARM_CHIPS)
def test_predict_matches_most_model_lines(small_night_reductions, arm):
    run = small_night_reductions[arm]["uves_cal_predict"]
    for chip in ARM_CHIPS[arm]:
        selected = qc(run, f"LINE_GUESS_TAB_{chip}", "MODEL NLINSEL")
        predicted = qc(run, f"LINE_GUESS_TAB_{chip}", "MODEL NLINALL")
        assert predicted > 500 and selected / predicted > 0.85, (chip, selected, predicted)
        assert qc(run, f"LINE_GUESS_TAB_{chip}", "MODEL DIFFYRMS") < 1.5  # the QC threshold's reason holds the figures


@pytest.mark.parametrize("arm", ARM_CHIPS)
def test_orderpos_finds_the_orders_the_model_predicts(small_night_reductions, arm):
    predict, orderpos = small_night_reductions[arm]["uves_cal_predict"], small_night_reductions[arm]["uves_cal_orderpos"]
    model = instrument_format(parse_setting(SETTING[arm], "2x2"))
    for chip in ARM_CHIPS[arm]:
        first = int(qc(predict, f"LINE_GUESS_TAB_{chip}", "MODEL ORDMIN"))
        last = int(qc(predict, f"LINE_GUESS_TAB_{chip}", "MODEL ORDMAX"))
        detected = qc(orderpos, f"ORDER_TABLE_{chip}", "ORD NDET")
        assert detected == qc(orderpos, f"ORDER_TABLE_{chip}", "ORD NPRED") == last - first + 1
        simulated = {order.order for order in model.chip(chip).orders}
        assert set(range(first, last + 1)) <= simulated
        assert qc(orderpos, f"ORDER_TABLE_{chip}", "ORD RESIDRMS") < 0.1


@pytest.mark.parametrize("arm", ARM_CHIPS)
def test_wavecal_identifies_hundreds_of_lines_with_subpixel_rms(small_night_reductions, arm):
    run = small_night_reductions[arm]["uves_cal_wavecal"]
    for chip in ARM_CHIPS[arm]:
        assert qc(run, f"LINE_TABLE_{chip}", "NLINSOL") >= 300
        assert qc(run, f"LINE_TABLE_{chip}", "LINE RESIDRMS PIX") < 0.1
        assert 40_000 < qc(run, f"LINE_TABLE_{chip}", "RESOLMED") < 95_000  # arcs through 0.4" (blue), 0.8" (red)


@pytest.mark.parametrize(("arm", "chip"), [("blue", "BLUE"), ("red", "REDL"), ("red", "REDU")])
def test_reduced_science_recovers_truth(small_night_reductions, arm, chip):
    run = small_night_reductions[arm]["uves_obs_scired"]
    raw = next(path for path, tag in sof_frames(run) if tag.startswith("SCI_POINT"))
    truth = json.loads(raw.with_name(raw.name.removesuffix(".fits") + ".truth.json").read_text())
    spectrum = read_merged(run.product(f"MERGED_SCI_POINT_{chip}"), run.product(f"ERRORBAR_SCI_POINT_{chip}"))
    assert fits.getheader(run.product(f"MERGED_SCI_POINT_{chip}"))["CTYPE1"].strip() == "AWAV"

    rv = measure_rv(spectrum, truth["lines_rest_air_angstrom"], truth["rv_kms"], RESOLVING_POWER)
    assert rv.used > 50
    assert abs(rv.rv_kms - truth["rv_kms"]) < 0.1, f"{chip}: RV {rv.rv_kms:.4f} ± {rv.error_kms:.4f} vs {truth['rv_kms']}"

    snr, _ = measure_snr(
        spectrum, truth["lines_rest_air_angstrom"], truth["rv_kms"], RESOLVING_POWER, truth["masked_ranges_angstrom"]
    )
    expected = truth["expected_continuum_snr"][chip.lower()]
    assert snr == pytest.approx(expected, rel=0.10), f"{chip}: S/N {snr:.1f} vs expected {expected:.1f}"
