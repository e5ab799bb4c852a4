"""QC trend plots (PNG): a parameter's values over nights, coloured by score, over threshold bands;
one panel per RAW_TYPE, each on its own axis (a bias level and a flat level never share a scale)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta
from fnmatch import fnmatchcase

from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator

from services.portal.thresholds import Band
from shared.archive.models import Qc1Value

SCORE_COLOURS = {0: "#2e9e44", 1: "#d6312b", None: "#9a9a9a"}
SCORE_NAMES = {0: "OK", 1: "outlier", None: "unscored"}
BAND_COLOUR = "#2e9e44"
PANEL_HEIGHT_INCHES = 2.9


def trend_png(title: str, values: Sequence[Qc1Value], bands: Sequence[Band]) -> bytes:
    """Built on a Figure of its own (not pyplot), so concurrent drawings never share state."""
    panels = _by_raw_type(values)
    figure = Figure(figsize=(9, 0.7 + PANEL_HEIGHT_INCHES * max(1, len(panels))), dpi=100, layout="constrained")
    measured = [v for v in values if v.value is not None]
    first, last = _night_span(measured)
    if not panels:
        axes = figure.add_subplot()
        axes.text(0.5, 0.5, "no measured values", transform=axes.transAxes, ha="center", color="#666")
        date_axis(axes, first, last)
    all_axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0] if panels else []
    for axes, (raw_type, panel_values) in zip(all_axes, panels, strict=True):
        _draw_panel(axes, raw_type, panel_values, [b for b in bands if _applies(b, raw_type, panel_values)],
                    first, last)
    figure.suptitle(title, fontsize=11, x=0.01, ha="left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _by_raw_type(values: Sequence[Qc1Value]) -> list[tuple[str, list[Qc1Value]]]:
    panels: dict[str, list[Qc1Value]] = {}
    for value in values:
        if value.value is not None:
            panels.setdefault(value.raw_type, []).append(value)
    return sorted(panels.items())


def _applies(band: Band, raw_type: str, values: Sequence[Qc1Value]) -> bool:
    if not band.applies_to:
        return True
    names = {raw_type, *(v.product for v in values if v.product)}
    return any(fnmatchcase(name, pattern) for name in names for pattern in band.applies_to)


def _draw_panel(axes: Axes, raw_type: str, values: Sequence[Qc1Value], bands: Sequence[Band],
                first: date, last: date) -> None:
    for score, colour in SCORE_COLOURS.items():
        points = [v for v in values if v.score == score]
        if points:
            axes.scatter([v.night for v in points], [v.value for v in points], s=22, color=colour,
                         label=f"{SCORE_NAMES[score]} ({len(points)})", zorder=3, edgecolors="white", linewidths=0.5)
    axes.margins(y=0.12)
    for band in bands:
        _draw_band(axes, band, first, last)
    unit = next((v.unit for v in values if v.unit), "")
    axes.set_title(raw_type, fontsize=10, loc="left", color="#444")
    axes.set_ylabel(unit or "value")
    date_axis(axes, first, last)
    axes.grid(True, color="#e5e5e5", linewidth=0.6)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, ncols=4)


def date_axis(axes: Axes, first: date, last: date) -> None:
    """Nights on x; a single night is one labelled tick, not a day cut into hours."""
    if first == last:
        axes.set_xlim(date2num(first) - 0.5, date2num(first) + 0.5)
        axes.xaxis.set_major_locator(FixedLocator([date2num(first)]))
        axes.xaxis.set_major_formatter(lambda _value, _position: first.isoformat())
        return
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_xlim(first - timedelta(days=1), last + timedelta(days=1))


def _night_span(values: Sequence[Qc1Value]) -> tuple[date, date]:
    if not values:
        today = date.today()
        return today - timedelta(days=30), today
    nights = [v.night for v in values]
    return min(nights), max(nights)


def _draw_band(axes: Axes, band: Band, first: date, last: date) -> None:
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
