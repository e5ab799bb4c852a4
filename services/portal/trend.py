"""QC trend plots (PNG): a parameter's values over nights, coloured by score, over threshold bands."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from services.portal.thresholds import Band
from shared.archive.models import Qc1Value

SCORE_COLOURS = {0: "#2e9e44", 1: "#d6312b", None: "#9a9a9a"}
SCORE_NAMES = {0: "OK", 1: "outlier", None: "unscored"}
BAND_COLOUR = "#2e9e44"


def trend_png(title: str, values: Sequence[Qc1Value], bands: Sequence[Band]) -> bytes:
    """Built on a Figure of its own (not pyplot), so concurrent requests never share state."""
    figure = Figure(figsize=(9, 3.6), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    measured = [v for v in values if v.value is not None]
    first, last = _night_span(measured)
    for band in bands:
        _draw_band(axes, band, first, last)
    for score, colour in SCORE_COLOURS.items():
        points = [v for v in measured if v.score == score]
        if points:
            axes.scatter([v.night for v in points], [v.value for v in points], s=22, color=colour,
                         label=f"{SCORE_NAMES[score]} ({len(points)})", zorder=3, edgecolors="white", linewidths=0.5)
    if not measured:
        axes.text(0.5, 0.5, "no measured values in this range", transform=axes.transAxes, ha="center", color="#666")
    unit = next((v.unit for v in measured if v.unit), "")
    axes.set_title(title, fontsize=11, loc="left")
    axes.set_ylabel(unit or "value")
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_xlim(first - timedelta(days=1), last + timedelta(days=1))
    axes.grid(True, color="#e5e5e5", linewidth=0.6)
    axes.spines[["top", "right"]].set_visible(False)
    if measured or bands:
        axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, ncols=4)
    axes.margins(y=0.12)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _night_span(values: Sequence[Qc1Value]) -> tuple[date, date]:
    if not values:
        today = date.today()
        return today - timedelta(days=30), today
    nights = [v.night for v in values]
    return min(nights), max(nights)


def _draw_band(axes, band: Band, first: date, last: date) -> None:
    start = max(band.valid_from, first - timedelta(days=1))
    end = min(band.valid_to or last + timedelta(days=1), last + timedelta(days=1))
    if start > end or (band.low is None and band.high is None):
        return
    low = band.low if band.low is not None else axes.get_ylim()[0]
    high = band.high if band.high is not None else axes.get_ylim()[1]
    kind = "fallback " if band.kind == "statistical" else ""
    axes.fill_between([start, end], low, high, color=BAND_COLOUR, alpha=0.10, zorder=1,
                      label=f"{kind}range {band.version}")
    for limit in (band.low, band.high):
        if limit is not None:
            axes.plot([start, end], [limit, limit], color=BAND_COLOUR, linewidth=0.8, linestyle="--", zorder=2)
