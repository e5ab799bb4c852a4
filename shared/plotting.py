"""Cheap quick-look plots: a spectrum of tens of thousands of pixels drawn as the envelope a
figure can show anyway, on a Pillow chart (the services' previews and QC reports)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

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


def nice_ticks(low: float, high: float, count: int = 6) -> np.ndarray:
    """Round tick values (1, 2 or 5 times a power of ten apart) inside [low, high], about `count` of them."""
    span = high - low
    if not np.isfinite(span) or span <= 0:
        return np.array([low])
    rough = span / count
    power = 10.0 ** np.floor(np.log10(rough))
    step = power * next(m for m in (1.0, 2.0, 5.0, 10.0) if m * power >= rough)
    return np.arange(np.ceil(low / step), np.floor(high / step) + 1) * step


def tick_labels(ticks: np.ndarray) -> tuple[list[str], str]:
    """Labels with as many decimals as the step needs, and the factor (`×1e-14`) they were divided
    by when the values are very small or very large ('' when none)."""
    largest = float(np.max(np.abs(ticks))) if ticks.size else 0.0
    exponent = int(np.floor(np.log10(largest))) if largest and not 1e-3 <= largest < 1e5 else 0
    scaled = ticks / 10.0**exponent
    step = float(np.min(np.diff(scaled))) if scaled.size > 1 else 1.0
    decimals = max(0, -int(np.floor(np.log10(step)))) if step > 0 else 0
    return [f"{value or 0.0:.{decimals}f}" for value in scaled], f"×1e{exponent}" if exponent else ""


@cache
def font(points: int, monospace: bool = False) -> ImageFont.FreeTypeFont:
    """matplotlib's own DejaVu fonts, found without importing matplotlib, so no system font is needed."""
    package = importlib.util.find_spec("matplotlib")
    folder = Path(package.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"
    return ImageFont.truetype(str(folder / ("DejaVuSansMono.ttf" if monospace else "DejaVuSans.ttf")), points)


def segments(x: np.ndarray, *ys: np.ndarray) -> list[np.ndarray]:
    """Index runs where `x` and every `ys` are finite: a NaN breaks a line or a band."""
    finite = np.isfinite(x)
    for y in ys:
        finite &= np.isfinite(y)
    edges = np.flatnonzero(np.diff(finite.astype(np.int8))) + 1
    return [run for run in np.split(np.arange(x.size), edges) if run.size and finite[run[0]]]


@dataclass(frozen=True)
class Margins:
    """Pixels between the image's edges and the data area."""

    left: int
    right: int
    top: int
    bottom: int


class Chart:
    """A quick-look x-y chart drawn with Pillow: a data area with ticks and labels, bands, lines,
    points and a legend. A few milliseconds where a matplotlib figure takes a few hundred (its
    tick, text and layout machinery), for the same information at screen resolution."""

    def __init__(self, size: tuple[int, int], margins: Margins, x_range: tuple[float, float],
                 y_range: tuple[float, float], points: int = 11) -> None:
        self.image = Image.new("RGB", size, "white")
        self.draw = ImageDraw.Draw(self.image)
        self.box = (margins.left, margins.top, size[0] - margins.right, size[1] - margins.bottom)
        self.x_range, self.y_range = x_range, y_range
        self.font = font(points)
        self.legend_entries: list[tuple[str, str]] = []

    def x(self, values: np.ndarray) -> np.ndarray:
        (low, high), (left, _, right, _) = self.x_range, self.box
        return left + (np.asarray(values, dtype=float) - low) * (right - left) / ((high - low) or 1.0)

    def y(self, values: np.ndarray) -> np.ndarray:
        (low, high), (_, top, _, bottom) = self.y_range, self.box
        return bottom - (np.clip(np.asarray(values, dtype=float), low, high) - low) * (bottom - top) / ((high - low) or 1.0)

    def band(self, x: np.ndarray, low: np.ndarray, high: np.ndarray, colour: str, label: str = "") -> None:
        """The area between `low` and `high`, broken where anything is NaN."""
        for run in segments(x, low, high):
            px = self.x(x[run])
            outline = np.concatenate([np.column_stack([px, self.y(high[run])]), np.column_stack([px, self.y(low[run])])[::-1]])
            self.draw.polygon([tuple(p) for p in outline.tolist()], fill=colour)
        self._label(label, colour)

    def line(self, x: np.ndarray, y: np.ndarray, colour: str, width: int = 1, label: str = "", marker: int = 0) -> None:
        """A polyline broken at NaN; `marker` > 0 draws a dot of that radius at each point."""
        for run in segments(x, y):
            points = [tuple(p) for p in np.column_stack([self.x(x[run]), self.y(y[run])]).tolist()]
            if len(points) > 1:
                self.draw.line(points, fill=colour, width=width)
            for px, py in points if marker else ():
                self.draw.ellipse((px - marker, py - marker, px + marker, py + marker), fill=colour)
        self._label(label, colour)

    def _label(self, label: str, colour: str) -> None:
        if label:
            self.legend_entries.append((label, colour))

    def finish(self, title: str, x_label: str, y_label: str, title_points: int | None = None) -> Image.Image:
        """The frame, ticks, tick labels, axis labels, title and legend drawn over the data."""
        left, top, right, bottom = self.box
        self.draw.rectangle(self.box, outline="black")
        x_factor = self._ticks(nice_ticks(*self.x_range), self.x, horizontal=True)
        y_factor = self._ticks(nice_ticks(*self.y_range), self.y, horizontal=False)
        self.draw.text(((left + right) / 2, self.image.height - 4), f"{x_label} {x_factor}".strip(), fill="black",
                       font=self.font, anchor="md")
        vertical = Image.new("RGB", (bottom - top, self.font.size + 4), "white")
        ImageDraw.Draw(vertical).text((vertical.width / 2, 0), f"{y_label} {y_factor}".strip(), fill="black",
                                      font=self.font, anchor="ma")
        self.image.paste(vertical.rotate(90, expand=True), (2, top))
        self.draw.text(((left + right) / 2, top - 4), title, fill="black", anchor="md",
                       font=font(title_points) if title_points else self.font)
        self._legend()
        return self.image

    def _ticks(self, ticks: np.ndarray, place: Callable[[np.ndarray], np.ndarray], horizontal: bool) -> str:
        left, top, right, bottom = self.box
        labels, factor = tick_labels(ticks)
        for position, label in zip(place(ticks).tolist(), labels, strict=True):
            if horizontal:
                self.draw.line((position, bottom, position, bottom - 5), fill="black")
                self.draw.text((position, bottom + 3), label, fill="black", font=self.font, anchor="ma")
            else:
                self.draw.line((left, position, left + 5, position), fill="black")
                self.draw.text((left - 3, position), label, fill="black", font=self.font, anchor="rm")
        return factor

    def _legend(self) -> None:
        if not self.legend_entries:
            return
        _, top, right, _ = self.box
        row = self.font.size + 4
        width = max(int(self.draw.textlength(label, font=self.font)) for label, _ in self.legend_entries) + 36
        corner = (right - width - 6, top + 6)
        self.draw.rectangle((*corner, right - 6, corner[1] + row * len(self.legend_entries) + 6), fill="white",
                            outline="#c8c8c8")
        for i, (label, colour) in enumerate(self.legend_entries):
            y = corner[1] + 4 + i * row + row / 2
            self.draw.line((corner[0] + 6, y, corner[0] + 26, y), fill=colour, width=3)
            self.draw.text((corner[0] + 30, y), label, fill="black", font=self.font, anchor="lm")
