"""Expected S/N of the reduced spectrum, from the noiseless light model: every source of noise the reduction keeps.

The star (with sky, dark and read noise) under optimal extraction, divided by the master flat
(`reduce.ffmethod = extract`): the flat is extracted with the science frame's own weights w = P/V,
so its photon noise is that of the few pixels under the star, and the pixel response divides
out only in part: the star weights each pixel's response by w·P, the uniformly lit flat by w.
Measured on blue 437 (HD 128620, 1200 s, tools/simulator/README.md): the extracted master flat
has 0.199 % noise per bin with the response set to 1 everywhere (0.20 % computed here), 0.45 %
with it; setting it to 1 in flats and science raised the measured S/N from 73.7 to 77.9.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.simulator import render
from tools.simulator.detector import PIXEL_RESPONSE_RMS
from tools.simulator.headers import Exposure
from tools.simulator.instrument import Chip
from tools.simulator.model import OrderModel, SpectralFormat
from tools.simulator.spectra import AbsorptionLines, Star, stellar_spectrum

# The merged spectrum is sampled at 2/3 of the mean pixel size (uves_obs_scired's default step).
MERGED_STEP_PER_PIXEL = 2.0 / 3.0


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

    Relative variances that add: the star's own, 1 / (S² Σ P²/V); the flat's (the mean of `flats`
    lamp frames, F electrons per pixel, extracted with the same weights w = P/V), Σ w²F / (Σ w F)²;
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
    flat = render.lamp_columns(order, width, render.FLAT_PEAK_ELECTRONS) * flats
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
