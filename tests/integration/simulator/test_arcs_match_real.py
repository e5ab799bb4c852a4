"""Simulated ThAr arcs against real ones: ESO line tables of real UVES arcs (1x1, see tools/simulator/data/CREDITS.md).

Line positions: for every identified real line, where the simulator puts it (on the rendered,
noise-free arc: centroid of the slit-summed order, for lines clear of neighbours), at 1x1 and
2x2, back in 1x1 pixels, against the real X. Line list: the share of real identified lines in
the reference table the pipeline is given. Brightness: peaks of the simulated lines the pipeline
could identify (in the reference table; averaged over the slit as the pipeline extracts arcs, ADU, same exposure time and slit as the
real arc) above the real arc's faint end (its 1st percentile: where that reduction stopped
identifying), against the real identified peaks. Needs the pipeline's physical model (esorex) at 1x1 on first use.
"""

from __future__ import annotations

import numpy as np
import pytest

from tools.simulator import render
from tools.simulator.arclamp import lamp_lines
from tools.simulator.detector import rotated_shape
from tools.simulator.geometry import instrument_format, line_sigma_px, with_slit
from tools.simulator.instrument import parse_setting
from tools.simulator.realarcs import real_arcs, real_lines, real_settings
from tools.simulator.thar import MATCH_ANGSTROM, nearest_lines, reference_lines

pytestmark = pytest.mark.esorex

REAL = real_settings()
MAX_MEDIAN_OFFSET_PX = 0.5
MAX_ROBUST_SCATTER_PX = 0.3
MIN_REFERENCE_COVERAGE = 0.8
# A line is clear when no other lamp line brighter than this fraction of it lies within ISOLATION_SIGMAS.
NEIGHBOUR_FRACTION = 0.02
ISOLATION_SIGMAS = 5.0
CENTROID_SIGMAS = 2.5


def robust_sigma(values: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def extracted_orders(setting_name: str, binning: str, chip: str, slit: float, scale: float) -> dict:
    """Noise-free arc of the chip, summed over each order's slit: {order: (columns, electrons)}."""
    setting = parse_setting(setting_name, binning)
    fmt = with_slit(instrument_format(setting), slit)
    chip_spec = next(c for c in setting.chips if c.name == chip)
    shape = rotated_shape(chip_spec, setting)
    image = render.arc_image(fmt, chip, shape, lamp_lines(setting), scale)
    spectra = {}
    for order in fmt.chip(chip).orders:
        columns = render.order_columns(order, shape[1])
        centre = order.trace(columns)
        half = int(np.ceil(order.slit_length_px / 2)) + 2
        rows = np.rint(centre)[None, :].astype(int) + np.arange(-half, half + 1)[:, None] - 1
        rows = np.clip(rows, 0, shape[0] - 1)
        spectra[order.order] = (columns, image[rows, (columns - 1).astype(int)[None, :]].sum(axis=0), order)
    return spectra


@pytest.mark.parametrize("binning", ["1x1", "2x2"])
@pytest.mark.parametrize(("setting_name", "chip"), REAL)
def test_simulated_lines_sit_where_the_real_instrument_puts_them(setting_name, chip, binning):
    real = real_lines(setting_name, chip)
    arc = real_arcs()[(setting_name, chip)]
    setting = parse_setting(setting_name, binning)
    spectra = extracted_orders(setting_name, binning, chip, arc.slit_arcsec, arc.exptime_s * arc.slit_arcsec)
    lamp = lamp_lines(setting)
    sigma = line_sigma_px(setting.arm, arc.slit_arcsec) / setting.binx
    offsets = []
    for order, wave, real_x in zip(real.order, real.wave, real.x, strict=True):
        if order not in spectra:
            continue
        columns, flux, model = spectra[order]
        x = float(model.x_of_wavelength(np.array([wave]))[0])
        if not (np.isfinite(x) and columns[0] + 3 < x < columns[-1] - 3):
            continue
        dispersion = abs(float(np.diff(model.wavelength(np.array([x - 0.5, x + 0.5])))[0]))
        near = np.abs(lamp.wave_air - wave) < ISOLATION_SIGMAS * sigma * dispersion
        this = lamp.amplitude[np.argmin(np.abs(lamp.wave_air - wave))]
        window = np.abs(columns - x) <= CENTROID_SIGMAS * sigma + 0.5
        if (lamp.amplitude[near] > NEIGHBOUR_FRACTION * this).sum() > 1 or flux[window].sum() <= 0:
            continue
        centroid = float(np.sum(columns[window] * flux[window]) / np.sum(flux[window]))
        offsets.append(centroid * setting.binx - 0.5 * (setting.binx - 1) - real_x)
    offsets_px = np.array(offsets)
    median, scatter = float(np.median(offsets_px)), robust_sigma(offsets_px)
    print(
        f"{setting_name} {chip} {binning}: {offsets_px.size} clear lines of {real.x.size}, "
        f"median ΔX {median:+.3f} px, median |ΔX| {np.median(np.abs(offsets_px)):.3f} px, robust σ {scatter:.3f} px (1x1 px)"
    )
    assert offsets_px.size > 0.25 * real.x.size
    assert abs(median) <= MAX_MEDIAN_OFFSET_PX and np.median(np.abs(offsets_px)) <= MAX_MEDIAN_OFFSET_PX
    assert scatter <= MAX_ROBUST_SCATTER_PX


@pytest.mark.parametrize(("setting_name", "chip"), REAL)
def test_reference_table_holds_most_real_identified_lines(setting_name, chip):
    real = np.unique(real_lines(setting_name, chip).wave)
    reference = reference_lines().wave_air
    _, distance = nearest_lines(real, reference)
    coverage = float(np.mean(distance < MATCH_ANGSTROM))
    print(f"{setting_name} {chip}: {coverage:.1%} of {real.size} real identified lines in the reference table")
    assert coverage >= MIN_REFERENCE_COVERAGE


@pytest.mark.parametrize(("setting_name", "chip"), REAL)
def test_line_brightness_spans_what_real_arcs_show(setting_name, chip):
    real = real_lines(setting_name, chip)
    arc = real_arcs()[(setting_name, chip)]
    setting = parse_setting(setting_name, "1x1")
    chip_spec = next(c for c in setting.chips if c.name == chip)
    fmt = with_slit(instrument_format(setting), arc.slit_arcsec).chip(chip)
    lamp = lamp_lines(setting)
    identifiable = np.isin(lamp.wave_air, reference_lines().wave_air)
    sigma = line_sigma_px(setting.arm, arc.slit_arcsec)
    peaks = []
    for order in fmt.orders:
        x = order.x_of_wavelength(lamp.wave_air)
        on = identifiable & np.isfinite(x) & (x > 1) & (x < rotated_shape(chip_spec, setting)[1])
        electrons = lamp.amplitude[on] * arc.exptime_s * arc.slit_arcsec * order.efficiency(x[on])
        # The pipeline's arc extraction averages over the slit.
        peaks.append(electrons * chip_spec.gain_adu_per_electron / (np.sqrt(2 * np.pi) * sigma) / order.slit_length_px)
    peak = np.concatenate(peaks)
    real_low, real_median, real_high = np.percentile(real.peak_adu, [1, 50, 99])
    detected = peak[peak >= real_low]
    sim_low, sim_median, sim_high = np.percentile(detected, [1, 50, 99])
    print(
        f"{setting_name} {chip}: simulated peaks 1/50/99 % {sim_low:.0f}/{sim_median:.0f}/{sim_high:.0f} ADU "
        f"(×{sim_high / sim_low:.0f}, {detected.size} lines); real {real_low:.0f}/{real_median:.0f}/{real_high:.0f} ADU "
        f"(×{real_high / real_low:.0f}, {real.x.size} identified)"
    )
    assert 0.5 <= (sim_high / sim_low) / (real_high / real_low) <= 2.0
    assert 0.5 <= sim_median / real_median <= 2.0
