"""Quick-look PNG of an SDP spectrum: flux against wavelength with its error band, drawn as the
envelope the figure's pixels can show (shared.plotting)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from services.processor.sdp import SdpColumns
from shared.plotting import envelope, envelope_line

FIGURE_INCHES = (12.0, 4.0)
DPI = 100
PNG_OPTIONS = {"compress_level": 1}
"""zlib's fastest level: the PNG is a little larger and takes a fraction of the time to write."""
MARGINS = {"left": 0.07, "right": 0.99, "bottom": 0.13, "top": 0.92}


def write_preview(columns: SdpColumns, title: str, flux_unit: str, path: Path) -> Path:
    """Flagged pixels are left out, and the line breaks across gaps (between chips, unfilled bins)."""
    wave, flux, low, high = plotted_arrays(columns)
    # A bare Figure (no pyplot) renders with Agg and keeps no global state between calls; fixed
    # margins instead of tight_layout, which draws the figure twice.
    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI)
    figure.subplots_adjust(**MARGINS)
    axes = figure.add_subplot()
    axes.fill_between(*envelope(wave, low, high), color="tab:orange", alpha=0.4, linewidth=0, label="±1σ")
    axes.plot(*envelope_line(wave, flux), color="black", linewidth=0.3, label="flux")
    axes.set_xlabel("air wavelength [nm]")
    axes.set_ylabel(f"flux [{flux_unit}]")
    axes.set_title(title)
    axes.set_ylim(*flux_limits(columns))
    axes.legend(loc="upper right", fontsize="small")
    figure.savefig(path, format="png", pil_kwargs=PNG_OPTIONS)
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
