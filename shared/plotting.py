"""Cheap quick-look plots: a spectrum of tens of thousands of pixels drawn as the envelope a
figure can show anyway (the services' previews and QC reports)."""

from __future__ import annotations

import numpy as np

ENVELOPE_BINS = 1500
"""Columns of the envelope: about the pixel width of the plotted axes, so nothing visible is lost."""


def envelope(x: np.ndarray, low: np.ndarray, high: np.ndarray | None = None,
             bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, lowest, highest) per run of consecutive points, at most `bins` runs: a line through
    the pairs looks like the full line at screen resolution for a hundredth of the drawing.

    A NaN in `x` breaks the line: it stays a run of its own (NaN), so gaps survive; NaN values of
    `low`/`high` are ignored within a run. `high` defaults to `low` (the envelope of one curve).
    """
    high = low if high is None else high
    if x.size <= 2 * bins:
        return x, low, high
    breaks = np.flatnonzero(np.isnan(x))
    starts = np.unique(np.concatenate([np.linspace(0, x.size, bins, endpoint=False).astype(np.intp), breaks, breaks + 1]))
    starts = starts[starts < x.size]
    with np.errstate(invalid="ignore"):
        lowest = np.fmin.reduceat(low, starts)
        highest = np.fmax.reduceat(high, starts)
    centre = np.fmax.reduceat(x, starts)
    return centre, lowest, highest


def envelope_line(x: np.ndarray, y: np.ndarray, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a line zig-zagging between each run's lowest and highest value."""
    centre, lowest, highest = envelope(x, y, bins=bins)
    if centre.size == x.size:
        return x, y
    return np.repeat(centre, 2), np.column_stack([lowest, highest]).ravel()
