"""Measure radial velocity and S/N of a reduced merged spectrum, independently of the simulator's code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

SPEED_OF_LIGHT_KMS = 299_792.458
EDGE_ANGSTROM = 5.0
SNR_WINDOW_PX = 41
FWHM_PER_SIGMA = 2.3548
# A weak line's width over the instrument's alone (rotation, macroturbulence): the fit's first guess.
LINE_WIDTH_FACTOR = 1.3
FIT_HALF_WIDTH_SIGMAS = 5.0
MIN_LINE_PIXELS = 12
CLIP_SIGMAS = 4.0


@dataclass(frozen=True)
class Spectrum:
    wave_angstrom: np.ndarray
    flux: np.ndarray
    error: np.ndarray


@dataclass(frozen=True)
class LineFit:
    """One injected line fitted in the spectrum: its observed centre and that centre's 1σ error (Å)."""

    rest: float
    centre: float
    centre_error: float
    depth: float

    @property
    def rv_kms(self) -> float:
        return SPEED_OF_LIGHT_KMS * (self.centre / self.rest - 1.0)

    @property
    def rv_error_kms(self) -> float:
        return SPEED_OF_LIGHT_KMS * self.centre_error / self.rest


@dataclass(frozen=True)
class RadialVelocity:
    """The inverse-variance weighted mean of the lines' velocities.

    `error_kms` is the formal error of that mean, scaled up by sqrt(χ²/(n−1)) of the lines
    around it when they scatter more than their own errors say (correlated pixels of the
    resampled spectrum, blends, a wavelength scale that differs from order to order).
    """

    rv_kms: float
    error_kms: float
    lines: tuple[LineFit, ...]
    reduced_chi2: float

    @property
    def used(self) -> int:
        return len(self.lines)


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
    """Weighted Gauss-Newton fit of (linear continuum) × (1 − Gaussian) around the expected line position.

    Pixels without a positive error (flagged) carry no weight. None when the fit does not settle
    on a line near the expected place and width.
    """
    guess = rest * (1.0 + guess_rv_kms / SPEED_OF_LIGHT_KMS)
    window = np.abs(spectrum.wave_angstrom - guess) < FIT_HALF_WIDTH_SIGMAS * sigma_angstrom
    usable = window & np.isfinite(spectrum.flux) & np.isfinite(spectrum.error) & (spectrum.error > 0)
    if usable.sum() < MIN_LINE_PIXELS:
        return None
    wave, flux, error = spectrum.wave_angstrom[usable], spectrum.flux[usable], spectrum.error[usable]
    params = np.array([np.max(flux), 0.0, 0.4, guess, sigma_angstrom])
    for _ in range(30):
        weighted = _line_jacobian(wave, params, guess) / error[:, None]
        residual = (flux - _line_model(wave, params, guess)) / error
        step, *_ = np.linalg.lstsq(weighted, residual, rcond=None)
        params = params + step
        if abs(step[3]) < 1e-7 * sigma_angstrom:
            break
    else:
        return None
    depth, centre, sigma = params[2], params[3], abs(params[4])
    if not (
        0.02 < depth < 1.0
        and abs(centre - guess) < sigma_angstrom
        and 0.3 * sigma_angstrom < sigma < 3 * sigma_angstrom
    ):
        return None
    weighted = _line_jacobian(wave, params, guess) / error[:, None]
    try:
        covariance = np.linalg.inv(weighted.T @ weighted)
    except np.linalg.LinAlgError:
        return None
    return LineFit(rest=rest, centre=float(centre), centre_error=float(np.sqrt(covariance[3, 3])), depth=float(depth))


def _line_model(wave: np.ndarray, params: np.ndarray, pivot: float) -> np.ndarray:
    level, slope, depth, centre, sigma = params
    return (level + slope * (wave - pivot)) * (1.0 - depth * np.exp(-0.5 * ((wave - centre) / sigma) ** 2))


def _line_jacobian(wave: np.ndarray, params: np.ndarray, pivot: float) -> np.ndarray:
    """∂ model / ∂ (level, slope, depth, centre, sigma), one row per pixel."""
    level, slope, depth, centre, sigma = params
    continuum = level + slope * (wave - pivot)
    offset = (wave - centre) / sigma
    gauss = np.exp(-0.5 * offset**2)
    absorbed = 1.0 - depth * gauss
    line = continuum * depth * gauss
    return np.stack(
        [absorbed, (wave - pivot) * absorbed, -continuum * gauss, -line * offset / sigma, -line * offset**2 / sigma],
        axis=1,
    )


SCIENCE_RESOLVING_POWER = 45_000.0
"""Science frames go through the 1.0" slit: narrower arcs give SPEC_RES above this (about 57-77 k)."""


def measure_rv(
    spectrum: Spectrum,
    rest_lines: list[float],
    guess_rv_kms: float,
    resolving_power: float,
) -> RadialVelocity:
    """The velocity of every injected line the spectrum holds, fitted one by one and combined.

    Each line is weighted by the inverse variance of its fitted centre, which grows with its
    depth and the S/N around it; lines more than CLIP_SIGMAS (in their own errors, scaled by the
    lines' robust scatter) from the weighted mean are dropped, iteratively. Fitting the lines
    separately and combining them is the joint fit of one velocity with per-line depth, width
    and continuum: those nuisance parameters belong to one line each.
    """
    low, high = spectrum.wave_angstrom.min() + EDGE_ANGSTROM, spectrum.wave_angstrom.max() - EDGE_ANGSTROM
    rest = np.asarray(rest_lines, dtype=float)
    fits_found = []
    for line in rest[(rest > low) & (rest < high)]:
        sigma = line / resolving_power / FWHM_PER_SIGMA * LINE_WIDTH_FACTOR
        fit = fit_line(spectrum, float(line), guess_rv_kms, sigma)
        if fit is not None and fit.centre_error > 0:
            fits_found.append(fit)
    if len(fits_found) < 2:
        raise ValueError(f"only {len(fits_found)} injected lines could be fitted in the spectrum")
    kept = np.ones(len(fits_found), dtype=bool)
    velocity = np.array([fit.rv_kms for fit in fits_found])
    error = np.array([fit.rv_error_kms for fit in fits_found])
    for _ in range(10):
        mean, _, _ = _weighted_mean(velocity[kept], error[kept])
        pulls = (velocity - mean) / error
        scale = max(1.0, 1.4826 * float(np.median(np.abs(pulls[kept]))))
        now = np.abs(pulls) < CLIP_SIGMAS * scale
        if np.array_equal(now, kept):
            break
        kept = now
    mean, formal, reduced_chi2 = _weighted_mean(velocity[kept], error[kept])
    lines = tuple(fit for fit, keep in zip(fits_found, kept, strict=True) if keep)
    return RadialVelocity(mean, formal * np.sqrt(max(1.0, reduced_chi2)), lines, reduced_chi2)


def _weighted_mean(values: np.ndarray, errors: np.ndarray) -> tuple[float, float, float]:
    """(inverse-variance weighted mean, its formal error, χ²/(n−1) of the values around it)."""
    weights = errors**-2.0
    mean = float(np.sum(weights * values) / np.sum(weights))
    chi2 = float(np.sum(weights * (values - mean) ** 2))
    return mean, float(np.sum(weights) ** -0.5), chi2 / max(values.size - 1, 1)


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
