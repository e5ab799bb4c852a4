"""Expected photo-electrons per pixel of each kind of exposure, drawn where the geometry (`geometry`) puts light.

Images are in the rotated binned frame of the physical model (rows = Y across orders, columns = X along
the dispersion, 1-based model coordinates at pixel centres).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tools.simulator.model import OrderModel, SpectralFormat
from tools.simulator.spectra import AbsorptionLines, Star, lamp_continuum, stellar_spectrum
from tools.simulator.thar import LineList

FWHM_PER_SIGMA = 2.3548200450309493
SUBSAMPLES = 5
FORMAT_CHECK_LINE_SIGMA_PX = 1.6
ORDER_DEFINITION_SIGMA_PX = 1.2
SLIT_EDGE_SIGMA_PX = 0.6
ORDER_FLAT_PEAK_ELECTRONS = 30_000.0
FLAT_PEAK_ELECTRONS = 28_000.0
SKY_FRACTION = 0.004

SpatialProfile = Callable[[np.ndarray], np.ndarray]
"""Fraction of a column's light in pixels at offsets dy (pixels) from the trace."""


def erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7): numpy has none and scipy is not a dependency."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def gaussian_pixel_fraction(offset: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """Fraction of a unit Gaussian (centred at 0) that falls in the pixel centred at `offset`."""
    scale = np.sqrt(2.0) * sigma
    return 0.5 * (erf((offset + 0.5) / scale) - erf((offset - 0.5) / scale))


def gaussian_profile(sigma: float) -> SpatialProfile:
    return lambda dy: gaussian_pixel_fraction(dy, sigma)


def slit_profile(length_px: float, edge_sigma: float = SLIT_EDGE_SIGMA_PX) -> SpatialProfile:
    """Uniformly lit slit of the given length with soft edges, normalised per pixel length."""
    half = 0.5 * length_px

    def profile(dy: np.ndarray) -> np.ndarray:
        scale = np.sqrt(2.0) * edge_sigma
        return 0.5 * (erf((dy + half) / scale) - erf((dy - half) / scale)) / length_px

    return profile


def blank_image(shape: tuple[int, int]) -> np.ndarray:
    return np.zeros(shape)


def add_order(
    image: np.ndarray,
    order: OrderModel,
    column_electrons: np.ndarray,
    profile: SpatialProfile,
    half_width: float,
) -> None:
    """Spread each column's electrons across the order's trace with the spatial profile."""
    columns = order_columns(order, image.shape[1])
    centre = order.trace(columns)
    offsets = np.arange(-int(np.ceil(half_width)) - 1, int(np.ceil(half_width)) + 2)
    rows = np.rint(centre)[None, :] + offsets[:, None]
    weights = profile(rows - centre[None, :]) * column_electrons[None, :]
    inside = (rows >= 1) & (rows <= image.shape[0])
    cols = np.broadcast_to(columns[None, :], rows.shape)
    np.add.at(image, ((rows[inside] - 1).astype(int), (cols[inside] - 1).astype(int)), weights[inside])


def arc_columns(order: OrderModel, lines: LineList, width: int, exposure_scale: float) -> np.ndarray:
    """Electrons per column from lamp lines: Gaussians of the order's line width, integrated over pixels.

    `lines.amplitude` is each line's flux at blaze efficiency 1 per unit of `exposure_scale`.
    """
    columns = order_columns(order, width)
    flux = np.zeros(columns.size)
    x_lines = order.x_of_wavelength(lines.wave_air)
    on = np.isfinite(x_lines)
    sigma = order.line_fwhm_px / FWHM_PER_SIGMA
    reach = int(np.ceil(5 * sigma)) + 1
    electrons = lines.amplitude[on] * exposure_scale * order.efficiency(x_lines[on])
    for x_line, amplitude in zip(x_lines[on], electrons, strict=True):
        start = max(int(np.rint(x_line)) - reach, int(columns[0]))
        stop = min(int(np.rint(x_line)) + reach, int(columns[-1]))
        if stop < start:
            continue
        pixels = np.arange(start, stop + 1)
        flux[pixels - int(columns[0])] += amplitude * gaussian_pixel_fraction(pixels - x_line, sigma)
    return flux


def continuum_columns(
    order: OrderModel, width: int, spectrum: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """Electrons per column of a spectrum given per Å: averaged over sub-pixels, times Å per pixel and blaze.

    `spectrum(wave, instrument_sigma_angstrom)` returns electrons per Å at the blaze peak.
    """
    columns = order_columns(order, width)
    offsets = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5
    sub_x = (columns[:, None] + offsets[None, :]).ravel()
    wave = order.wavelength(sub_x)
    angstrom_per_px = np.abs(np.gradient(order.wavelength(columns), columns))
    sigma_angstrom = np.repeat(angstrom_per_px * order.line_fwhm_px / FWHM_PER_SIGMA, SUBSAMPLES)
    per_angstrom = spectrum(wave, sigma_angstrom).reshape(columns.size, SUBSAMPLES).mean(axis=1)
    return per_angstrom * angstrom_per_px * order.efficiency(columns)


def lamp_columns(order: OrderModel, width: int, peak_electrons: float) -> np.ndarray:
    """Electrons per column of a smooth lamp: `peak_electrons` at the blaze peak in mid-band."""
    columns = order_columns(order, width)
    shape = lamp_continuum(order.wavelength(columns))
    return peak_electrons * shape / np.median(shape) * order.efficiency(columns)


def order_columns(order: OrderModel, width: int) -> np.ndarray:
    first = max(1, int(np.ceil(order.x_min)))
    last = min(width, int(np.floor(order.x_max)))
    return np.arange(first, last + 1, dtype=float)


def format_check_image(
    fmt: SpectralFormat, chip: str, shape: tuple[int, int], lines: LineList, exposure_scale: float
) -> np.ndarray:
    """Short ThAr lines (format-check exposures use a short slit)."""
    image = blank_image(shape)
    profile = gaussian_profile(FORMAT_CHECK_LINE_SIGMA_PX)
    for order in fmt.chip(chip).orders:
        columns = arc_columns(order, lines, shape[1], exposure_scale)
        add_order(image, order, columns, profile, 5 * FORMAT_CHECK_LINE_SIGMA_PX)
    return image


def arc_image(
    fmt: SpectralFormat, chip: str, shape: tuple[int, int], lines: LineList, exposure_scale: float
) -> np.ndarray:
    """ThAr lines over the full slit length."""
    image = blank_image(shape)
    for order in fmt.chip(chip).orders:
        columns = arc_columns(order, lines, shape[1], exposure_scale)
        add_order(image, order, columns, slit_profile(order.slit_length_px), order.slit_length_px / 2 + 3)
    return image


def order_definition_image(fmt: SpectralFormat, chip: str, shape: tuple[int, int]) -> np.ndarray:
    """Narrow continuum traces (the order-definition flat uses a short, narrow slit)."""
    image = blank_image(shape)
    peak_fraction = gaussian_pixel_fraction(np.array(0.0), ORDER_DEFINITION_SIGMA_PX)
    for order in fmt.chip(chip).orders:
        columns = lamp_columns(order, shape[1], ORDER_FLAT_PEAK_ELECTRONS / peak_fraction)
        add_order(image, order, columns, gaussian_profile(ORDER_DEFINITION_SIGMA_PX), 5 * ORDER_DEFINITION_SIGMA_PX)
    return image


def flat_image(fmt: SpectralFormat, chip: str, shape: tuple[int, int]) -> np.ndarray:
    """Flat-field lamp through the full slit."""
    image = blank_image(shape)
    for order in fmt.chip(chip).orders:
        columns = lamp_columns(order, shape[1], FLAT_PEAK_ELECTRONS * order.slit_length_px)
        add_order(image, order, columns, slit_profile(order.slit_length_px), order.slit_length_px / 2 + 3)
    return image


def science_image(
    fmt: SpectralFormat,
    chip: str,
    shape: tuple[int, int],
    star: Star,
    lines: AbsorptionLines,
    seeing_sigma_px: float,
    airmass: float,
) -> np.ndarray:
    """The star (Gaussian spatial profile at the slit centre) plus a faint uniform sky."""
    image = blank_image(shape)
    for order in fmt.chip(chip).orders:
        columns = continuum_columns(
            order, shape[1], lambda wave, sigma: stellar_spectrum(wave, star, lines, sigma, airmass)
        )
        add_order(image, order, columns, gaussian_profile(seeing_sigma_px), 6 * seeing_sigma_px)
        sky = science_sky_columns(columns, order)
        add_order(image, order, sky, slit_profile(order.slit_length_px), order.slit_length_px / 2 + 3)
    return image


def science_sky_columns(object_columns: np.ndarray, order: OrderModel) -> np.ndarray:
    """Sky (scattered moonlight) per column over the whole slit: a small fraction of the star per pixel."""
    return SKY_FRACTION * order.slit_length_px * np.median(object_columns) * np.ones_like(object_columns)
