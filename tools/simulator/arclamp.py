"""The ThAr lamp as UVES records it: line fluxes calibrated on real ESO arcs, per setting.

Every line of the laboratory list (`thar.thar_lines`) is drawn; its flux is, in order of
preference: (1) what the real arcs of the same setting measured for it (`realarcs`: peak of the
extracted line, back to electrons — the pipeline's arc extraction averages over the slit, so
times the slit length in pixels: simulated arcs reduced by the pipeline give the same peaks
as real ones this way — divided by the blaze, exposure time and slit width); (2) what another
real arc of the arm measured, brought to this setting's flux scale (real arcs of one arm differ
several-fold in flux per second and arcsec of slit: another lamp, another year — the median
ratio on the lines both identified); (3) for a line a real arc covers but did not identify, at
most the faint end of the identified fluxes; (4) otherwise a flux from the laboratory relative
amplitude, through the power law that links amplitude and measured flux on the real lines, with
that relation's own scatter. A setting without a real arc takes the arm's arcs as measured.
Fluxes are photo-electrons per second per arcsec of slit width at blaze efficiency 1, summed
over the slit, at 1x1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from tools.simulator.geometry import real_format
from tools.simulator.instrument import Arm, Setting, parse_setting
from tools.simulator.realarcs import real_arcs, real_lines
from tools.simulator.thar import MATCH_ANGSTROM, LineList, nearest_lines, thar_lines

# Real peaks near a blaze zero are mostly noise in the blaze, not in the lamp.
MIN_EFFICIENCY = 0.1
# An unidentified line inside a real arc's range was too faint (or too blended) to be identified
# there: it is given at most this percentile of the identified fluxes (the lowest over the arm's arcs).
UNIDENTIFIED_PERCENTILE = 1.0
SCATTER_SEED = 22
# Another arc's fluxes are brought to this setting's scale only through at least this many shared lines.
MIN_SHARED_LINES = 20


@dataclass(frozen=True)
class ArcFluxes:
    """Lamp fluxes one real arc measured on one chip, and the faintest flux an unidentified line there may have."""

    wave: np.ndarray
    flux: np.ndarray
    faint: float

    def scaled(self, factor: float) -> ArcFluxes:
        return ArcFluxes(self.wave, self.flux * factor, self.faint * factor)


def _arc_fluxes(setting_name: str, chip: str) -> ArcFluxes:
    """Fluxes of the lines one real arc identified (electrons per second per arcsec of slit, blaze 1)."""
    arc = real_arcs()[(setting_name, chip)]
    setting = parse_setting(setting_name, "1x1")
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
    return ArcFluxes(lines.wave[good], flux, float(np.percentile(flux, UNIDENTIFIED_PERCENTILE)))


def _median_by_wave(arcs: list[ArcFluxes]) -> tuple[np.ndarray, np.ndarray]:
    wave = np.concatenate([a.wave for a in arcs])
    flux = np.concatenate([a.flux for a in arcs])
    unique = np.unique(wave)
    return unique, np.array([np.median(flux[wave == w]) for w in unique])


def _shared_ratio(own: tuple[np.ndarray, np.ndarray], other: ArcFluxes) -> float | None:
    """Median of own flux over the other arc's flux on the lines both identified, or None if too few."""
    wave, flux = _median_by_wave([other])
    _, own_index, other_index = np.intersect1d(own[0], wave, return_indices=True)
    if own_index.size < MIN_SHARED_LINES:
        return None
    return float(np.median(own[1][own_index] / flux[other_index]))


def _measured_fluxes(arm: Arm, wlen_nm: int) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float, float]]]:
    """(wavelengths, fluxes on the setting's scale, [(λ low, λ high, faintest flux an unidentified line may have)])."""
    name = f"{arm.value}{wlen_nm}"
    arcs = {key: _arc_fluxes(*key) for key in real_arcs() if parse_setting(key[0], "1x1").arm is arm}
    own = [fluxes for (setting_name, _), fluxes in arcs.items() if setting_name == name]
    others = [fluxes for (setting_name, _), fluxes in arcs.items() if setting_name != name]
    if not own:
        return *_median_by_wave(others), [(float(a.wave.min()), float(a.wave.max()), a.faint) for a in others]
    wave, flux = _median_by_wave(own)
    ratios = [_shared_ratio((wave, flux), other) for other in others]
    others = [other.scaled(ratio) for other, ratio in zip(others, ratios, strict=True) if ratio is not None]
    ranges = [(float(a.wave.min()), float(a.wave.max()), a.faint) for a in own + others]
    if others:
        other_wave, other_flux = _median_by_wave(others)
        only_other = ~np.isin(other_wave, wave)
        wave = np.concatenate([wave, other_wave[only_other]])
        flux = np.concatenate([flux, other_flux[only_other]])
    order = np.argsort(wave)
    return wave[order], flux[order], ranges


def lamp_lines(setting: Setting) -> LineList:
    """Every laboratory line with its flux for the setting (electrons per second per arcsec of slit, blaze 1, 1x1)."""
    return _lamp_lines(setting.arm, setting.wlen_nm)


@cache
def _lamp_lines(arm: Arm, wlen_nm: int) -> LineList:
    lines = thar_lines()
    wave, flux, ranges = _measured_fluxes(arm, wlen_nm)
    index, distance = nearest_lines(wave, lines.wave_air)
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
