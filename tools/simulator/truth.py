"""Expected S/N of the reduced spectrum, from the noiseless light model: every source of noise the reduction keeps.

The star (with sky, dark and read noise) under optimal extraction, divided by the master flat
(`reduce.ffmethod = extract`): the flat is extracted with the science frame's own weights w = P/V,
so its photon noise is that of the few pixels under the star, and the pixel response divides
out only in part: the star weights each pixel's response by w·P, the uniformly lit flat by w.
Checked with the real recipes on blue 437 (HD 128620, 1200 s, tools/simulator/README.md): the
extracted master flat has 0.199 % noise per bin with the response set to 1 (0.20 % computed);
a noiseless frame and flats reduced with and without the response differ by 0.315 % rms per
merged bin (0.313 % computed).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from tools.simulator import render
from tools.simulator.detector import PIXEL_RESPONSE_RMS
from tools.simulator.headers import Exposure
from tools.simulator.instrument import Chip
from tools.simulator.model import OrderModel, SpectralFormat
from tools.simulator.spectra import AbsorptionLines, Star, stellar_spectrum

# The merged spectrum is sampled at 2/3 of the mean pixel size (uves_obs_scired's default step).
MERGED_STEP_PER_PIXEL = 2.0 / 3.0
MEDIAN_VARIANCE_DRAWS = 200_000


@cache
def median_variance_factor(frames: int) -> float:
    """Variance of the median of `frames` unit-variance Gaussian frames over that of their mean (3 frames: 1.35).

    uves_cal_mflat median-combines the flats: the master flat's pixel variance over its level is
    0.0203 ADU on a simulated blue 437 night, as the median of three gives (0.54 ADU/e⁻ / 3 × 1.35),
    not the mean (0.0150).
    """
    if frames <= 2:
        return 1.0  # the median of two is their mean
    draws = np.random.default_rng(0).standard_normal((MEDIAN_VARIANCE_DRAWS, frames))
    return float(np.var(np.median(draws, axis=1)) * frames)


def order_snr(
    order: OrderModel,
    width: int,
    chip: Chip,
    exposure: Exposure,
    star: Star,
    lines: AbsorptionLines,
    seeing_sigma_px: float,
    flats: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength Å, S/N) per column of one order with optimal extraction, divided by the extracted master flat.

    Relative variances that add: the star's own, 1 / (S² Σ P²/V); the flat's (the median of `flats`
    lamp frames, worth F electrons per pixel, extracted with the same weights w = P/V), Σ w²F / (Σ w F)²;
    the pixel response ε (rms r) left over, Σ (wP/ΣwP − w/Σw)² r².
    """
    columns = render.order_columns(order, width)
    signal = render.continuum_columns(
        order, width, lambda wave, sigma: stellar_spectrum(wave, star, lines, sigma, exposure.airmass)
    )
    sky_per_pixel = render.science_sky_columns(signal, order) / order.slit_length_px
    setting = exposure.setting
    dark = chip.dark_electrons_per_hour / 3600.0 * exposure.exptime_s * setting.binx * setting.biny
    centre = order.trace(columns)
    offsets = np.arange(-12, 13)
    rows = np.rint(centre)[None, :] + offsets[:, None]
    profile = render.gaussian_pixel_fraction(rows - centre[None, :], seeing_sigma_px)
    variance = signal[None, :] * profile + sky_per_pixel[None, :] + dark + chip.read_noise_electrons**2
    star_relative_variance = 1.0 / (signal**2 * np.sum(profile**2 / variance, axis=0))
    weights = profile / variance
    flat = render.lamp_columns(order, width, render.FLAT_PEAK_ELECTRONS) * flats / median_variance_factor(flats)
    flat_relative_variance = np.sum(weights**2, axis=0) / (np.sum(weights, axis=0) ** 2 * flat)
    response_left = weights * profile / np.sum(weights * profile, axis=0) - weights / np.sum(weights, axis=0)
    response_relative_variance = PIXEL_RESPONSE_RMS**2 * np.sum(response_left**2, axis=0)
    total = star_relative_variance + flat_relative_variance + response_relative_variance
    return order.wavelength(columns), total**-0.5


def chip_snr(
    fmt: SpectralFormat,
    chip: Chip,
    exposure: Exposure,
    star: Star,
    lines: AbsorptionLines,
    seeing_sigma_px: float,
    flats: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(wavelength, photon-noise S/N) of every order of a chip."""
    width = chip.ny // exposure.setting.biny
    return [
        order_snr(order, width, chip, exposure, star, lines, seeing_sigma_px, flats)
        for order in fmt.chip(chip.name).orders
    ]


def merged_median_snr(per_order: list[tuple[np.ndarray, np.ndarray]], masked: Sequence[Sequence[float]] = ()) -> float:
    low = min(float(wave.min()) for wave, _ in per_order)
    high = max(float(wave.max()) for wave, _ in per_order)
    pixel = np.median([np.median(np.abs(np.diff(wave))) for wave, _ in per_order])
    grid = np.arange(low, high, pixel * MERGED_STEP_PER_PIXEL)
    snr2 = np.zeros(grid.size)
    for wave, snr in per_order:
        order_index = np.argsort(wave)
        snr2 += np.interp(grid, wave[order_index], snr[order_index] ** 2, left=0.0, right=0.0)
    clear = np.ones(grid.size, dtype=bool)
    for low_masked, high_masked in masked:
        clear &= (grid < low_masked) | (grid > high_masked)
    return float(np.median(np.sqrt(snr2[clear] if clear.any() else snr2)))
