"""Photon-noise expectation of the S/N the reduction should reach, from the noiseless light model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.simulator import render
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
) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength Å, S/N) per column of one order with optimal extraction: S·sqrt(Σ P²/V)."""
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
    snr = signal * np.sqrt(np.sum(profile**2 / variance, axis=0))
    return order.wavelength(columns), snr


def chip_snr(
    fmt: SpectralFormat,
    chip: Chip,
    exposure: Exposure,
    star: Star,
    lines: AbsorptionLines,
    seeing_sigma_px: float,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(wavelength, photon-noise S/N) of every order of a chip."""
    width = chip.ny // exposure.setting.biny
    return [
        order_snr(order, width, chip, exposure, star, lines, seeing_sigma_px) for order in fmt.chip(chip.name).orders
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
