"""Simulate a UVES night: plan it, render every exposure, write raw files (and science truth) atomically."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tools.simulator import render
from tools.simulator.arclamp import lamp_lines
from tools.simulator.detector import rotated_shape
from tools.simulator.frames import no_light, raw_file
from tools.simulator.geometry import night_format, with_slit
from tools.simulator.headers import SLIT, Exposure, FrameKind
from tools.simulator.model import SpectralFormat
from tools.simulator.output import NightResult, publish, staging_folder
from tools.simulator.plan import NightPlan, PlannedExposure, schedule
from tools.simulator.render import FWHM_PER_SIGMA
from tools.simulator.spectra import (
    SPEED_OF_LIGHT_KMS,
    STARS,
    AbsorptionLines,
    Star,
    absorption_lines,
    macroturbulence_kms,
    normalised_spectrum,
)
from tools.simulator.stronglines import STRONG_LINES, strong_line_windows
from tools.simulator.telluric import band_ranges
from tools.simulator.thar import write_line_refer_table
from tools.simulator.truth import chip_snr, merged_median_snr

log = logging.getLogger(__name__)

INSTRUMENT = "UVES"


def archive_night_folder(root: Path, plan: NightPlan) -> Path:
    """Where a night lives in the raw archive: ROOT/raw/UVES/<night>/."""
    return root / "raw" / INSTRUMENT / plan.night.isoformat()


def install_static_calibrations(root: Path) -> list[Path]:
    """Put the static calibrations an observatory ships with the pipeline into the archive's
    calibration store (ROOT/calib/UVES/): the LINE_REFER_TABLE made from the same ThAr list
    the arcs are drawn from. Left alone when already there."""
    target = root / "calib" / INSTRUMENT / f"{INSTRUMENT}_LINE_REFER_TABLE.fits"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".static-") as folder:
            os.replace(write_line_refer_table(Path(folder) / target.name), target)
    return [target]


def fill_archive(root: Path, plans: Iterable[NightPlan]) -> None:
    """Render each planned night into the raw archive under `root`, with the static calibrations."""
    for plan in plans:
        simulate_night(plan, archive_night_folder(root, plan))
    install_static_calibrations(root)


def simulate_night(plan: NightPlan, out: Path) -> NightResult:
    """Render the night into `out`; on any failure nothing is left in `out`."""
    planned = schedule(plan)
    formats = {setting: night_format(setting, plan.night, plan.seed) for setting in plan.settings}
    raw_names: list[str] = []
    truth_names: list[str] = []
    with staging_folder(out) as staging:
        for index, item in enumerate(planned):
            rng = np.random.default_rng([plan.seed, 2, index])
            exposure = item.exposure
            electrons, truth = _render(item, formats[exposure.setting], plan.seed, plan.flats)
            raw_file(exposure, electrons, rng).writeto(staging / exposure.arcfile)
            raw_names.append(exposure.arcfile)
            if truth is not None:
                truth_name = exposure.arcfile.removesuffix(".fits") + ".truth.json"
                (staging / truth_name).write_text(json.dumps(truth, indent=2) + "\n")
                truth_names.append(truth_name)
        publish(staging, out)
    log.info("simulated %d raw frames of night %s into %s", len(raw_names), plan.night, out)
    return NightResult(folder=out, raw_files=raw_names, truth_files=truth_names)


def _render(
    item: PlannedExposure, night_fmt: SpectralFormat, seed: int, flats: int
) -> tuple[dict[str, np.ndarray], dict | None]:
    exposure = item.exposure
    fmt = with_slit(night_fmt, exposure.slit_width_arcsec)
    chips = exposure.setting.chips
    shapes = {chip.name: rotated_shape(chip, exposure.setting) for chip in chips}
    if exposure.kind is FrameKind.BIAS:
        return no_light(exposure), None
    lamp_scale = exposure.exptime_s * exposure.slit_width_arcsec
    if exposure.kind is FrameKind.FORMAT_CHECK:
        lamp = lamp_lines(exposure.setting)
        return {c.name: render.format_check_image(fmt, c.name, shapes[c.name], lamp, lamp_scale) for c in chips}, None
    if exposure.kind is FrameKind.WAVE:
        lamp = lamp_lines(exposure.setting)
        return {c.name: render.arc_image(fmt, c.name, shapes[c.name], lamp, lamp_scale) for c in chips}, None
    if exposure.kind is FrameKind.ORDER_DEFINITION:
        return {c.name: render.order_definition_image(fmt, c.name, shapes[c.name]) for c in chips}, None
    if exposure.kind is FrameKind.FLAT:
        return {c.name: render.flat_image(fmt, c.name, shapes[c.name]) for c in chips}, None
    star = item.star
    assert star is not None, "a science exposure always has a star"
    lines = star_lines(star, seed)
    scaled = _scaled_star(star, exposure)
    sigma = _seeing_sigma_px(exposure, fmt)
    electrons = {
        c.name: render.science_image(fmt, c.name, shapes[c.name], scaled, lines, sigma[c.name], exposure.airmass)
        for c in chips
    }
    masked = masked_ranges(star)
    per_order = {c.name.lower(): chip_snr(fmt, c, exposure, scaled, lines, sigma[c.name], flats) for c in chips}
    snr = {chip: merged_median_snr(orders) for chip, orders in per_order.items()}
    continuum_snr = {chip: merged_median_snr(orders, masked) for chip, orders in per_order.items()}
    return electrons, _truth(exposure, star, lines, snr) | _line_truth(fmt, exposure, star, lines, masked) | {
        "expected_continuum_snr": {chip: continuum_snr.get(chip) for chip in ("blue", "redl", "redu")},
        "expected_continuum_snr_meaning": "as expected_snr, outside masked_ranges_angstrom (where continuum is)",
    }


def star_lines(star: Star, seed: int) -> AbsorptionLines:
    """The absorption lines given to a star: fixed for a star and seed, the same in every exposure."""
    index = next(i for i, known in enumerate(STARS) if known.name == star.name)
    return absorption_lines(np.random.default_rng([seed, 3, index]), star.teff_k)


def _scaled_star(star: Star, exposure: Exposure) -> Star:
    """The star's detected flux for this exposure time (catalogue level is per 1200 s at airmass 1)."""
    extinction = 10 ** (-0.4 * 0.12 * (exposure.airmass - 1.0))
    factor = exposure.exptime_s / 1200.0 * extinction
    return star.model_copy(update={"electrons_per_angstrom": star.electrons_per_angstrom * factor})


def _seeing_sigma_px(exposure: Exposure, fmt: SpectralFormat) -> dict[str, float]:
    _, slit_length_arcsec, _, _ = SLIT[exposure.setting.arm]
    sigmas = {}
    for chip in fmt.chips:
        length_px = float(np.median([order.slit_length_px for order in chip.orders]))
        arcsec_per_px = slit_length_arcsec / length_px
        sigmas[chip.chip] = exposure.seeing_arcsec / arcsec_per_px / FWHM_PER_SIGMA
    return sigmas


def _truth(exposure: Exposure, star: Star, lines: AbsorptionLines, snr: dict[str, float]) -> dict:
    return {
        "arcfile": exposure.arcfile,
        "object": star.name,
        "ra_deg": star.ra_deg,
        "dec_deg": star.dec_deg,
        "rv_kms": star.rv_kms,
        "rv_frame": "topocentric",
        "lines_rest_air_angstrom": lines.rest_air_angstrom,
        "line_depths": lines.depths,
        "line_depths_meaning": (
            "central depth of the intrinsic Gaussian weak line before rotation, macroturbulence and instrumental "
            "broadening"
        ),
        "expected_snr": {"blue": snr.get("blue"), "redl": snr.get("redl"), "redu": snr.get("redu")},
        "expected_snr_meaning": (
            "median over the merged spectrum (step 2/3 pixel) of the photon + read noise S/N of optimal "
            "extraction divided by the extracted master flat (its photon noise and the pixel response it leaves "
            "included, tools/simulator/truth.py), orders adding in quadrature where they overlap; null for chips "
            "not exposed"
        ),
        "teff_k": star.teff_k,
        "continuum_electrons_per_angstrom_5500": star.electrons_per_angstrom,
        "exptime_s": exposure.exptime_s,
        "seeing_arcsec": exposure.seeing_arcsec,
        "setting": exposure.setting.key,
    }


def masked_ranges(star: Star) -> list[list[float]]:
    """Observed-frame ranges (Å) without continuum: the star's strong lines and the telluric bands."""
    doppler = 1.0 + star.rv_kms / SPEED_OF_LIGHT_KMS
    return [[low * doppler, high * doppler] for low, high in strong_line_windows(star.teff_k)] + [
        [low, high] for low, high in band_ranges()
    ]


def _line_truth(
    fmt: SpectralFormat, exposure: Exposure, star: Star, lines: AbsorptionLines, masked: list[list[float]]
) -> dict:
    """The strong lines as recorded (deepest normalised flux at this resolution) and where S/N is not measurable."""
    doppler = 1.0 + star.rv_kms / SPEED_OF_LIGHT_KMS
    strong = []
    for line in STRONG_LINES:
        centre = line.wave_air * doppler
        sigma_kms = _instrument_sigma_kms(fmt, centre)
        minimum = None
        if sigma_kms is not None:
            wave = np.linspace(centre - 2.0, centre + 2.0, 801)
            minimum = round(float(normalised_spectrum(wave, star, lines, sigma_kms, exposure.airmass).min()), 4)
        strong.append(
            {
                "name": line.name,
                "rest_air_angstrom": line.wave_air,
                "equivalent_width_angstrom": round(line.equivalent_width(star.teff_k), 4),
                "min_normalised_flux": minimum,
            }
        )
    return {
        "vsini_kms": star.vsini_kms,
        "macroturbulence_kms": round(macroturbulence_kms(star.teff_k), 3),
        "strong_lines": strong,
        "strong_lines_meaning": (
            "literature-strength lines (tools/simulator/stronglines.py); min_normalised_flux is the deepest "
            "point of the recorded spectrum over its continuum within ±2 Å, telluric absorption included; "
            "null where no order of this setting holds the line"
        ),
        "masked_ranges_angstrom": masked,
        "masked_ranges_meaning": "observed-frame ranges of strong lines and telluric bands: no continuum for S/N",
    }


def _instrument_sigma_kms(fmt: SpectralFormat, wave: float) -> float | None:
    """Gaussian σ (km/s) of the spectrograph at a wavelength, from the order holding it nearest its centre."""
    best = None
    for chip in fmt.chips:
        for order in chip.orders:
            x = float(order.x_of_wavelength(np.array([wave]))[0])
            if not np.isfinite(x):
                continue
            distance = abs(x - 0.5 * (order.x_min + order.x_max))
            dispersion = abs(float(np.diff(order.wavelength(np.array([x - 0.5, x + 0.5])))[0]))
            sigma = dispersion * order.line_fwhm_px / FWHM_PER_SIGMA / wave * SPEED_OF_LIGHT_KMS
            if best is None or distance < best[0]:
                best = (distance, sigma)
    return None if best is None else best[1]
