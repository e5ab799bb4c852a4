"""The QC report of an AB: one PNG with the spectrum overview, S/N per order and the scored
QC values as a traffic-light table. Drawn cheaply, with Pillow only: the spectra are the
processor's previews, the S/N per order a chart of shared.plotting, the title and table text."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from shared.contracts import AssociationBlock, QcScore
from shared.plotting import Chart, Margins, font

ORDER_SNR = re.compile(r"^QC\.ORD(\d+)\.OBJ\.SN$")
COLOURS = {0: "#3a9d3a", 1: "#d23c3c", None: "#a0a0a0"}
SERIES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
"""One colour per product in the S/N per order panel (matplotlib's first six)."""
SCORE_NAMES = {0: "OK", 1: "outlier", None: "unscored"}
TABLE_ROWS = 22
TABLE_WIDTHS = (28, 26, 14, 6, 60)
"""At most so many characters per column of the scores table: product, parameter, value, grade, verdict."""
PNG_OPTIONS = {"compress_level": 1}
"""zlib's fastest level: the PNG is a little larger and takes a fraction of the time to write."""


@dataclass(frozen=True)
class Layout:
    """Sizes in the report, in pixels."""

    width: int = 990
    panel: int = 288
    panel_margins: Margins = Margins(left=70, right=20, top=26, bottom=44)
    title: int = 66
    row: int = 14
    margin: int = 12
    font_points: int = 11


LAYOUT = Layout()


def write_report(path: Path, ab: AssociationBlock, scores: Sequence[QcScore], previews: Sequence[Path] = ()) -> Path:
    """The spectra are the processor's previews (PNG files) scaled to the report's width; the S/N
    per order, title and table are drawn by Pillow (a matplotlib figure took a few hundred
    milliseconds, mostly its tick and text machinery)."""
    orders = order_snr(scores)
    panels = [*(_scaled(preview) for preview in previews), *([_orders_image(orders)] if orders else [])]
    table = _table_image(key_scores(scores))
    report = Image.new("RGB", (LAYOUT.width, LAYOUT.title + sum(p.height for p in panels) + table.height), "white")
    draw = ImageDraw.Draw(report)
    draw.multiline_text((LAYOUT.width // 2, LAYOUT.margin), f"{ab.ab_id}\n{ab.raw_type} · {ab.recipe} · night {ab.night}\n{tally(scores)}",
                        fill="black", font=font(LAYOUT.font_points), anchor="ma", align="center")
    top = LAYOUT.title
    for panel in panels:
        report.paste(panel, (0, top))
        top += panel.height
    report.paste(table, (0, top))
    report.save(path, format="png", **PNG_OPTIONS)
    return path


def _scaled(preview: Path) -> Image.Image:
    with Image.open(preview) as image:
        rgb = image.convert("RGB")
    return rgb.resize((LAYOUT.width, round(rgb.height * LAYOUT.width / rgb.width)), Image.Resampling.BILINEAR)


def _orders_image(orders: Mapping[str, list[tuple[int, float]]]) -> Image.Image:
    values = [value for points in orders.values() for _, value in points]
    numbers = [order for points in orders.values() for order, _ in points]
    low, high = min(0.0, *values), max(values)
    chart = Chart((LAYOUT.width, LAYOUT.panel), LAYOUT.panel_margins, (min(numbers) - 0.5, max(numbers) + 0.5),
                  (low, high + 0.08 * ((high - low) or 1.0)), points=9)
    for (product, points), colour in zip(orders.items(), itertools.cycle(SERIES)):
        chart.line(np.array([o for o, _ in points], dtype=float), np.array([v for _, v in points]), colour=colour,
                   label=product, marker=2)
    return chart.finish("S/N per order (QC.ORDi.OBJ.SN)", "extracted order", "S/N")


def _table_image(scores: Sequence[QcScore]) -> Image.Image:
    """One monospaced line per score, a coloured square before it for its grade."""
    if not scores:
        image = Image.new("RGB", (LAYOUT.width, 3 * LAYOUT.row), "white")
        ImageDraw.Draw(image).text((LAYOUT.width // 2, LAYOUT.row), "no QC parameter has a threshold", fill="black",
                                   font=font(LAYOUT.font_points), anchor="ma")
        return image
    rows = [("product", "parameter", "value", "grade", "verdict")] + [(
        s.product, s.parameter, "" if s.value is None else f"{s.value:.4g} {s.unit}".strip(),
        "" if s.grade is None else f"{s.grade:.2f}", s.message) for s in scores]
    widths = [min(max(len(cell) for cell in column), limit) for column, limit in zip(zip(*rows), TABLE_WIDTHS, strict=True)]
    image = Image.new("RGB", (LAYOUT.width, (len(rows) + 1) * LAYOUT.row + LAYOUT.margin), "white")
    draw = ImageDraw.Draw(image)
    left = 4 * LAYOUT.margin
    for row, cells in enumerate(rows):
        top = LAYOUT.margin + row * LAYOUT.row
        line = "  ".join(cell[:width].ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
        draw.text((left, top), line, fill="black", font=font(LAYOUT.font_points, monospace=True))
        if row:
            draw.rectangle((left - 2 * LAYOUT.margin, top + 2, left - LAYOUT.margin, top + LAYOUT.row - 3),
                           fill=COLOURS[scores[row - 1].score])
    return image


def order_snr(scores: Sequence[QcScore]) -> dict[str, list[tuple[int, float]]]:
    """S/N per extracted order, by product, from the pipeline's QC.ORDi.OBJ.SN."""
    found: dict[str, list[tuple[int, float]]] = {}
    for score in scores:
        match = ORDER_SNR.match(score.parameter)
        if match and score.value is not None:
            found.setdefault(score.product, []).append((int(match.group(1)), score.value))
    return {product: sorted(values) for product, values in found.items()}


def tally(scores: Sequence[QcScore]) -> str:
    """`OK 12 · outlier 1 · informational 40 · unscored 0`: every parameter of the AB counted once."""
    counts = {"OK": 0, "outlier": 0, "informational": 0, "unscored": 0}
    for score in scores:
        counts["informational" if score.informational else SCORE_NAMES[score.score]] += 1
    return " · ".join(f"{name} {count}" for name, count in counts.items())


def key_scores(scores: Sequence[QcScore]) -> list[QcScore]:
    """Scored parameters and mandatory problems, outliers first."""
    shown = [s for s in scores if s.score is not None or s.grade is not None or "mandatory" in s.message]
    return sorted(shown, key=lambda s: ({1: 0, None: 1, 0: 2}[s.score], s.product, s.parameter))[:TABLE_ROWS]
