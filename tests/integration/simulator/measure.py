"""Measure radial velocity and S/N of a reduced merged spectrum, independently of the simulator's code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

SPEED_OF_LIGHT_KMS = 299_792.458
EDGE_ANGSTROM = 5.0
SNR_WINDOW_PX = 41


@dataclass(frozen=True)
class Spectrum:
    wave_angstrom: np.ndarray
    flux: np.ndarray
    error: np.ndarray


@dataclass(frozen=True)
class LineFit:
    rest: float
    centre: float
    depth: float

    @property
    def rv_kms(self) -> float:
        return SPEED_OF_LIGHT_KMS * (self.centre / self.rest - 1.0)


def read_merged(flux_path: Path, error_path: Path) -> Spectrum:
    """A 1D merged spectrum with its error bars; wavelengths from the linear WCS (nm or Å)."""
    with fits.open(flux_path) as hdul:
        flux = np.asarray(hdul[0].data, dtype=float)
        header = hdul[0].header
    error = np.asarray(fits.getdata(error_path), dtype=float)
    pixels = np.arange(flux.size) + 1.0
    wave = header["CRVAL1"] + (pixels - header["CRPIX1"]) * header["CDELT1"]
    if header.get("CUNIT1", "").strip().lower() == "nm" or wave.max() < 2000.0:
        wave = wave * 10.0
    return Spectrum(wave, flux, error)


def fit_line(spectrum: Spectrum, rest: float, guess_rv_kms: float, sigma_angstrom: float) -> LineFit | None:
    """Gauss-Newton fit of (linear continuum) × (1 − Gaussian) around the expected line position."""
    guess = rest * (1.0 + guess_rv_kms / SPEED_OF_LIGHT_KMS)
    window = np.abs(spectrum.wave_angstrom - guess) < 5.0 * sigma_angstrom
    if window.sum() < 12:
        return None
    wave, flux, error = spectrum.wave_angstrom[window], spectrum.flux[window], spectrum.error[window]
    if not (np.all(np.isfinite(flux)) and np.all(error > 0)):
        return None
    params = np.array([np.max(flux), 0.0, 0.4, guess, sigma_angstrom])
    for _ in range(30):
        model = _line_model(wave, params, guess)
        jacobian = _numeric_jacobian(wave, params, guess)
        weighted = jacobian / error[:, None]
        try:
            step, *_ = np.linalg.lstsq(weighted, (flux - model) / error, rcond=None)
        except np.linalg.LinAlgError:
            return None
        params = params + step
        if np.all(np.abs(step[3]) < 1e-7):
            break
    depth, centre, sigma = params[2], params[3], abs(params[4])
    if not (
        0.05 < depth < 1.0
        and abs(centre - guess) < sigma_angstrom
        and 0.3 * sigma_angstrom < sigma < 3 * sigma_angstrom
    ):
        return None
    return LineFit(rest=rest, centre=float(centre), depth=float(depth))


def _line_model(wave: np.ndarray, params: np.ndarray, pivot: float) -> np.ndarray:
    level, slope, depth, centre, sigma = params
    return (level + slope * (wave - pivot)) * (1.0 - depth * np.exp(-0.5 * ((wave - centre) / sigma) ** 2))


def _numeric_jacobian(wave: np.ndarray, params: np.ndarray, pivot: float) -> np.ndarray:
    base = _line_model(wave, params, pivot)
    steps = np.array([1e-4 * max(abs(params[0]), 1.0), 1e-4 * max(abs(params[0]), 1.0), 1e-5, 1e-6, 1e-6])
    columns = []
    for index, step in enumerate(steps):
        shifted = params.copy()
        shifted[index] += step
        columns.append((_line_model(wave, shifted, pivot) - base) / step)
    return np.stack(columns, axis=1)


SCIENCE_RESOLVING_POWER = 45_000.0
"""Science frames go through the 1.0" slit: narrower arcs give SPEC_RES above this (about 57-77 k)."""


def measure_rv(
    spectrum: Spectrum,
    rest_lines: list[float],
    depths: list[float],
    guess_rv_kms: float,
    resolving_power: float,
) -> tuple[float, float, int]:
    """(clipped mean RV, its standard error, lines used) from isolated injected lines inside the spectrum."""
    low, high = spectrum.wave_angstrom.min() + EDGE_ANGSTROM, spectrum.wave_angstrom.max() - EDGE_ANGSTROM
    rest = np.asarray(rest_lines)
    inside = (rest > low) & (rest < high) & (np.asarray(depths) > 0.45)
    velocities = []
    for line in rest[inside]:
        sigma = line / resolving_power / 2.3548 * 1.3
        fit = fit_line(spectrum, float(line), guess_rv_kms, sigma)
        if fit is not None:
            velocities.append(fit.rv_kms)
    values = np.asarray(velocities)
    for _ in range(5):
        centre, spread = np.median(values), 1.4826 * np.median(np.abs(values - np.median(values)))
        values = values[np.abs(values - centre) < 4 * spread]
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size)), int(values.size)


def measure_snr(
    spectrum: Spectrum,
    rest_lines: list[float],
    rv_kms: float,
    resolving_power: float,
    masked_ranges: list[list[float]] = (),
) -> tuple[float, float]:
    """(median S/N from the scatter around a smooth continuum away from lines, median FLUX/ERR).

    `masked_ranges` (observed Å): strong lines and telluric bands, where there is no continuum.
    """
    wave, flux = spectrum.wave_angstrom, spectrum.flux
    shifted = np.asarray(rest_lines) * (1.0 + rv_kms / SPEED_OF_LIGHT_KMS)
    near_line = np.zeros(wave.size, dtype=bool)
    for low, high in masked_ranges:
        near_line |= (wave >= low) & (wave <= high)
    for centre in shifted[(shifted > wave.min()) & (shifted < wave.max())]:
        near_line |= np.abs(wave - centre) < 6.0 * centre / resolving_power
    good = ~near_line & np.isfinite(flux) & (spectrum.error > 0)
    ratios = []
    step = SNR_WINDOW_PX
    for start in range(0, wave.size - step, step):
        chunk = slice(start, start + step)
        use = good[chunk]
        if use.sum() < step // 2:
            continue
        x, y = wave[chunk][use], flux[chunk][use]
        trend = np.polyval(np.polyfit(x - x.mean(), y, 2), x - x.mean())
        residual = y - trend
        if np.median(trend) > 0:
            ratios.append(np.median(trend) / np.std(residual, ddof=3))
    flux_over_error = flux[good] / spectrum.error[good]
    return float(np.median(ratios)), float(np.median(flux_over_error))
