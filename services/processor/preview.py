"""Quick-look PNG of an SDP spectrum: flux against wavelength with its error band, drawn as the
envelope the image's pixels can show, on a Pillow chart (shared.plotting)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from services.processor.sdp import SdpColumns
from shared.plotting import Chart, Margins, envelope, envelope_line

SIZE = (1200, 400)
MARGINS = Margins(left=84, right=12, bottom=52, top=32)
PNG_OPTIONS = {"compress_level": 1}
"""zlib's fastest level: the PNG is a little larger and takes a fraction of the time to write."""
BAND = "#ffcc9e"
"""matplotlib's tab:orange at 40 % over white: the ±1σ band."""


def write_preview(columns: SdpColumns, title: str, flux_unit: str, path: Path) -> Path:
    """Flagged pixels are left out, and the line breaks across gaps (between chips, unfilled bins)."""
    wave, flux, low, high = plotted_arrays(columns)
    chart = Chart(SIZE, MARGINS, (float(np.nanmin(wave)), float(np.nanmax(wave))), flux_limits(columns))
    bins = SIZE[0] - MARGINS.left - MARGINS.right
    chart.band(*envelope(wave, low, high, bins=bins), colour=BAND, label="±1σ")
    chart.line(*envelope_line(wave, flux, bins=bins), colour="black", label="flux")
    chart.finish(title, "air wavelength [nm]", f"flux [{flux_unit}]").save(path, format="png", **PNG_OPTIONS)
    return path


def plotted_arrays(columns: SdpColumns) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(wave, flux, flux − err, flux + err) with NaN where a pixel is flagged or a gap starts."""
    flux = np.where(columns.good, columns.flux, np.nan)
    err = np.where(columns.good, columns.err, np.nan)
    steps = np.diff(columns.wave)
    gaps = np.flatnonzero(steps > 5.0 * np.median(steps)) + 1
    wave = np.insert(columns.wave, gaps, np.nan)
    flux = np.insert(flux, gaps, np.nan)
    err = np.insert(err, gaps, np.nan)
    return wave, flux, flux - err, flux + err


def flux_limits(columns: SdpColumns) -> tuple[float, float]:
    """Robust limits: a few hot pixels should not squash the spectrum."""
    good = columns.flux[columns.good]
    if good.size == 0:
        return -1.0, 1.0
    low, high = np.percentile(good, [0.5, 99.5])
    margin = 0.1 * (high - low) or 1.0
    return float(min(low, 0.0) - margin), float(high + margin)
