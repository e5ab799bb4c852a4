"""Radial velocity and S/N of every science product of a simulated night against its truth, one setting at a time.

    python -m tests.integration.simulator.accuracy --night 2024-09-14 --seed 9191 \\
        --settings blue390,blue437,red580,red860 --targets 3 [--exptime 10800] --work /tmp/accuracy

Each setting is simulated as a `small` night of its own (skipped when `WORK/<setting>/raw` already
holds it), reduced by the real recipe cascade (`chain.py`, esorex's default parameters), every
science frame by its own `uves_obs_scired`; the merged spectra are measured by `measure.py`.
Prints, per chip, the wavelength solution's zero point against the simulated geometry (at the
arc lines), one row per product (ΔRV; continuum S/N measured from the scatter, median FLUX/ERR, and
the photon-noise expectation of the truth file) and the weighted mean, and writes the rows to `WORK/rv.json`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
from astropy.io import fits

from tests.integration.simulator.chain import RecipeRun, classify, run_cascade, run_science
from tests.integration.simulator.measure import (
    SCIENCE_RESOLVING_POWER,
    SPEED_OF_LIGHT_KMS,
    measure_rv,
    measure_snr,
    read_merged,
)
from tools.simulator.geometry import night_format
from tools.simulator.instrument import parse_setting
from tools.simulator.model import OrderModel
from tools.simulator.plan import night_plan
from tools.simulator.thar import write_line_refer_table
from tools.simulator.uves import simulate_night

CHIPS = {"blue": ("BLUE",), "red": ("REDL", "REDU")}


@dataclass(frozen=True)
class ProductRv:
    setting: str
    chip: str
    star: str
    delta_rv_ms: float
    error_ms: float
    lines: int
    reduced_chi2: float
    snr: float
    flux_over_error: float
    expected_snr: float

    @property
    def snr_deficit_percent(self) -> float:
        return 100.0 * (self.snr / self.expected_snr - 1.0)


def measure_setting(setting: str, night: date, seed: int, targets: int, binning: str, exptime_s: float,
                    work: Path) -> list[ProductRv]:
    raw = work / setting / "raw"
    if not any(raw.glob("*.truth.json")):
        plan = night_plan(night, preset="small", seed=seed, binning=binning, settings=[setting], targets=targets)
        simulate_night(plan.model_copy(update={"science_exptime_s": exptime_s}), raw)
    arm = "blue" if setting.startswith("blue") else "red"
    reduced = work / setting / "reduced"
    cascade = run_cascade(raw, arm, write_line_refer_table(work / setting / "line_refer_table.fits"), reduced)
    for chip in CHIPS[arm]:
        offset = solution_offset_ms(cascade["uves_cal_wavecal"].product(f"LINE_TABLE_{chip}"),
                                    night_format(parse_setting(setting, binning), night, seed).chip(chip).orders)
        print(f"{setting} {chip}: wavelength solution − simulated geometry at the identified arc lines: "
              f"median {offset:+.1f} m/s", flush=True)
    science = [cascade["uves_obs_scired"], *run_science(classify(raw, arm)["SCI_POINT"][1:], arm, cascade, reduced)]
    return [row for run in science for row in _product_rows(setting, arm, run)]


def _product_rows(setting: str, arm: str, run: RecipeRun) -> list[ProductRv]:
    if run.returncode != 0:
        raise RuntimeError(f"{run.recipe} failed in {run.workdir}: {run.stdout[-2000:]}")
    raw = next(Path(line.split()[0]) for line in (run.workdir / "input.sof").read_text().splitlines()
               if line.split()[1].startswith("SCI_POINT"))
    truth = json.loads(raw.with_name(raw.name.removesuffix(".fits") + ".truth.json").read_text())
    rows = []
    for chip in CHIPS[arm]:
        spectrum = read_merged(run.product(f"MERGED_SCI_POINT_{chip}"), run.product(f"ERRORBAR_SCI_POINT_{chip}"))
        rv = measure_rv(spectrum, truth["lines_rest_air_angstrom"], truth["rv_kms"], SCIENCE_RESOLVING_POWER)
        snr, flux_over_error = measure_snr(spectrum, truth["lines_rest_air_angstrom"], truth["rv_kms"],
                                           SCIENCE_RESOLVING_POWER, truth["masked_ranges_angstrom"])
        rows.append(ProductRv(setting, chip, truth["object"], round((rv.rv_kms - truth["rv_kms"]) * 1000.0, 1),
                              round(rv.error_kms * 1000.0, 1), rv.used, round(rv.reduced_chi2, 2), round(snr, 1),
                              round(flux_over_error, 1), round(truth["expected_continuum_snr"][chip.lower()], 1)))
    return rows


def solution_offset_ms(line_table: Path, orders: list[OrderModel]) -> float:
    """Median over the arc lines the pipeline identified (every extraction window) of its wavelength
    solution at the line's true position minus the line's wavelength, in m/s: the zero point the
    science inherits. At the true X the solution gives WaveC + (X_true − X)·dλ/dX."""
    by_number = {order.order: order for order in orders}
    offsets = []
    with fits.open(line_table) as hdul:
        for hdu in hdul[1:]:
            if "Ident" not in hdu.columns.names:
                continue
            lines = hdu.data[(hdu.data["Ident"] > 0) & (hdu.data["Select"] != 0)]
            for line in lines:
                order = by_number.get(int(round(line["AbsOrder"])))
                true_x = np.nan if order is None else float(order.x_of_wavelength(np.array([line["Ident"]]))[0])
                if np.isfinite(true_x):
                    dispersion = float(np.diff(order.wavelength(np.array([true_x - 0.5, true_x + 0.5])))[0])
                    error = line["WaveC"] - line["Ident"] + (true_x - line["X"]) * dispersion
                    offsets.append(SPEED_OF_LIGHT_KMS * 1000.0 * error / line["Ident"])
    return float(np.median(offsets))


def weighted_mean(rows: list[ProductRv]) -> tuple[float, float]:
    weights = np.array([row.error_ms for row in rows]) ** -2.0
    values = np.array([row.delta_rv_ms for row in rows])
    return float(np.sum(weights * values) / np.sum(weights)), float(np.sum(weights) ** -0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--night", type=date.fromisoformat, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--settings", default="blue390,blue437,red580,red860")
    parser.add_argument("--targets", type=int, default=3)
    parser.add_argument("--binning", default="2x2")
    parser.add_argument("--exptime", type=float, default=1200.0,
                        help="science exposure time, s: longer for a velocity error below the photon floor of 1200 s")
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args(argv)
    rows: list[ProductRv] = []
    for setting in args.settings.split(","):
        found = measure_setting(setting, args.night, args.seed, args.targets, args.binning, args.exptime, args.work)
        for row in found:
            print(f"{row.setting} {row.chip} {row.star}: ΔRV {row.delta_rv_ms:+.1f} ± {row.error_ms:.1f} m/s "
                  f"({row.lines} lines, χ²/ν {row.reduced_chi2}); S/N {row.snr} (FLUX/ERR {row.flux_over_error}) against "
                  f"{row.expected_snr} expected: {row.snr_deficit_percent:+.1f} %", flush=True)
        for chip in sorted({row.chip for row in found}):
            mean, error = weighted_mean([row for row in found if row.chip == chip])
            print(f"{setting} {chip}: weighted mean ΔRV {mean:+.1f} ± {error:.1f} m/s", flush=True)
        rows.extend(found)
    (args.work / "rv.json").write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n")


if __name__ == "__main__":
    main()
