"""The QC report of an AB: one PNG with the spectrum overview, S/N per order and the scored
QC values as a traffic-light table. Drawn cheaply: the spectra are the processor's previews,
the title and table Pillow text, only the S/N per order a (bare, Agg) matplotlib figure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from shared.contracts import AssociationBlock, QcScore

ORDER_SNR = re.compile(r"^QC\.ORD(\d+)\.OBJ\.SN$")
COLOURS = {0: "#3a9d3a", 1: "#d23c3c", None: "#a0a0a0"}
SCORE_NAMES = {0: "OK", 1: "outlier", None: "unscored"}
TABLE_ROWS = 22
TABLE_WIDTHS = (28, 26, 14, 6, 60)
"""At most so many characters per column of the scores table: product, parameter, value, grade, verdict."""
PNG_OPTIONS = {"compress_level": 1}
"""zlib's fastest level: the PNG is a little larger and takes a fraction of the time to write."""


@dataclass(frozen=True)
class Layout:
    """Sizes in the report: pixels, except the data panels' height (inches at `dpi`)."""

    dpi: int = 90
    width: int = 990
    panel_inches: float = 3.2
    title: int = 66
    row: int = 14
    margin: int = 12
    font_points: int = 11


LAYOUT = Layout()


def write_report(path: Path, ab: AssociationBlock, scores: Sequence[QcScore], previews: Sequence[Path] = ()) -> Path:
    """Title and table are text drawn by Pillow (matplotlib renders text glyph by glyph, ten times
    slower); the spectra are the processor's previews (PNG files) scaled to the report's width;
    only the S/N per order is a matplotlib figure, with fixed margins (no tight_layout, which
    draws a figure twice)."""
    orders = order_snr(scores)
    panels = [*(_scaled(preview) for preview in previews), *([_orders_image(orders)] if orders else [])]
    table = _table_image(key_scores(scores))
    report = Image.new("RGB", (LAYOUT.width, LAYOUT.title + sum(p.height for p in panels) + table.height), "white")
    draw = ImageDraw.Draw(report)
    draw.multiline_text((LAYOUT.width // 2, LAYOUT.margin), f"{ab.ab_id}\n{ab.raw_type} · {ab.recipe} · night {ab.night}\n{tally(scores)}",
                        fill="black", font=_font(False), anchor="ma", align="center")
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
    figure = Figure(figsize=(LAYOUT.width / LAYOUT.dpi, LAYOUT.panel_inches), dpi=LAYOUT.dpi)
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.5 / LAYOUT.panel_inches, top=1 - 0.3 / LAYOUT.panel_inches)
    _orders_panel(figure.add_subplot(), orders)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")


def _table_image(scores: Sequence[QcScore]) -> Image.Image:
    """One monospaced line per score, a coloured square before it for its grade."""
    if not scores:
        image = Image.new("RGB", (LAYOUT.width, 3 * LAYOUT.row), "white")
        ImageDraw.Draw(image).text((LAYOUT.width // 2, LAYOUT.row), "no QC parameter has a threshold", fill="black",
                                   font=_font(False), anchor="ma")
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
        draw.text((left, top), line, fill="black", font=_font(True))
        if row:
            draw.rectangle((left - 2 * LAYOUT.margin, top + 2, left - LAYOUT.margin, top + LAYOUT.row - 3),
                           fill=COLOURS[scores[row - 1].score])
    return image


@cache
def _font(monospace: bool) -> ImageFont.FreeTypeFont:
    """matplotlib's own DejaVu fonts, so the report needs no system font."""
    return ImageFont.truetype(font_manager.findfont("DejaVu Sans Mono" if monospace else "DejaVu Sans"), LAYOUT.font_points)


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


def _orders_panel(axes: Axes, orders: Mapping[str, list[tuple[int, float]]]) -> None:
    for product, values in orders.items():
        axes.plot([o for o, _ in values], [v for _, v in values], marker="o", ms=3, lw=1, label=product)
    axes.set_xlabel("extracted order")
    axes.set_ylabel("S/N")
    axes.set_title("S/N per order (QC.ORDi.OBJ.SN)", fontsize=9)
    axes.legend(fontsize=7, loc="lower right")
