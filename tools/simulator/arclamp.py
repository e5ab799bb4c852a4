"""The ThAr lamp as UVES records it: line fluxes calibrated on real ESO arcs.

Every line of the laboratory list (`thar.thar_lines`) is drawn; its flux is, in order of
preference: (1) what the real arcs of the same arm measured for it (`realarcs`: peak of the
extracted line, back to electrons — the pipeline's arc extraction averages over the slit, so
times the slit length in pixels: simulated arcs reduced by the pipeline give the same peaks
as real ones this way — divided by the blaze, exposure time and slit width);
(2) for a line the real arcs cover but did not identify, at most the faint end of the
identified fluxes; (3) otherwise a flux from the laboratory relative amplitude,
through the power law that links amplitude and measured flux on the real lines, with that
relation's own scatter. Fluxes are photo-electrons per second per arcsec of slit width at
blaze efficiency 1, summed over the slit, at 1x1.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from tools.simulator.geometry import real_format
from tools.simulator.instrument import Arm, parse_setting
from tools.simulator.realarcs import real_arcs, real_lines
from tools.simulator.thar import LineList, thar_lines

# Real peaks near a blaze zero are mostly noise in the blaze, not in the lamp.
MIN_EFFICIENCY = 0.1
# An unidentified line inside a real arc's range was too faint (or too blended) to be identified
# there: it is given at most this percentile of the identified fluxes (the lowest over the arm's arcs).
UNIDENTIFIED_PERCENTILE = 1.0
MATCH_ANGSTROM = 0.01
SCATTER_SEED = 22


def _measured_fluxes(arm: Arm) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float, float]]]:
    """(wavelengths, fluxes, [(λ low, λ high, faintest flux an unidentified line may have)]) from the arm's real arcs."""
    waves, fluxes, ranges = [], [], []
    for (setting_name, chip), arc in real_arcs().items():
        setting = parse_setting(setting_name, "1x1")
        if setting.arm is not arm:
            continue
        lines = real_lines(setting_name, chip)
        assert lines is not None
        efficiency, slit_px = np.full(lines.x.size, np.nan), np.full(lines.x.size, np.nan)
        for order in real_format(setting).chip(chip).orders:
            on = lines.order == order.order
            efficiency[on] = order.efficiency(lines.x[on])
            slit_px[on] = order.slit_length_px
        good = efficiency >= MIN_EFFICIENCY
        electrons = lines.peak_adu / arc.gain_adu_per_electron * np.sqrt(2.0 * np.pi) * lines.sigma_px * slit_px
        flux = electrons[good] / efficiency[good] / (arc.exptime_s * arc.slit_arcsec)
        waves.append(lines.wave[good])
        fluxes.append(flux)
        ranges.append(
            (float(lines.wave.min()), float(lines.wave.max()), float(np.percentile(flux, UNIDENTIFIED_PERCENTILE)))
        )
    wave, flux = np.concatenate(waves), np.concatenate(fluxes)
    unique = np.unique(wave)
    median = np.array([np.median(flux[wave == w]) for w in unique])
    return unique, median, ranges


def _nearest(wave: np.ndarray, catalogue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest catalogue entry to each wavelength, and the distance."""
    index = np.clip(np.searchsorted(catalogue, wave), 1, catalogue.size - 1)
    left = np.abs(catalogue[index - 1] - wave) < np.abs(catalogue[index] - wave)
    index = np.where(left, index - 1, index)
    return index, np.abs(catalogue[index] - wave)


@cache
def lamp_lines(arm: Arm) -> LineList:
    """Every laboratory line with its flux (electrons per second per arcsec of slit, blaze 1, 1x1)."""
    lines = thar_lines()
    wave, flux, ranges = _measured_fluxes(arm)
    index, distance = _nearest(wave, lines.wave_air)
    matched = distance < MATCH_ANGSTROM
    amplitude = np.clip(lines.amplitude[index[matched]], 1.0, None)
    slope, intercept = np.polyfit(np.log10(amplitude), np.log10(flux[matched]), 1)
    scatter = float(np.std(np.log10(flux[matched]) - (intercept + slope * np.log10(amplitude))))
    rng = np.random.default_rng(SCATTER_SEED)
    log_flux = intercept + slope * np.log10(np.clip(lines.amplitude, 1.0, None))
    result = 10 ** (log_flux + scatter * rng.standard_normal(lines.wave_air.size))
    faint = min(cap for _, _, cap in ranges)
    for low, high, _ in ranges:
        covered = (lines.wave_air >= low) & (lines.wave_air <= high)
        result[covered] = np.minimum(result[covered], faint)
    result[index[matched]] = flux[matched]
    return LineList(lines.wave_air, result)
