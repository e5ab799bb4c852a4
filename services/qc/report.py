"""The QC report of an AB: one PNG with the spectrum overview, S/N per order and the scored
QC values as a traffic-light table (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from services.qc.extraction import Spectrum  # noqa: E402
from shared.contracts import AssociationBlock, QcScore  # noqa: E402

ORDER_SNR = re.compile(r"^QC\.ORD(\d+)\.OBJ\.SN$")
COLOURS = {0: "#3a9d3a", 1: "#d23c3c", None: "#a0a0a0"}
TABLE_ROWS = 22


def write_report(path: Path, ab: AssociationBlock, scores: Sequence[QcScore], spectra: Mapping[str, Spectrum]) -> Path:
    figure = _figure(ab, scores, spectra)
    try:
        figure.savefig(path, dpi=90)
    finally:
        plt.close(figure)
    return path


def _figure(ab: AssociationBlock, scores: Sequence[QcScore], spectra: Mapping[str, Spectrum]) -> Figure:
    orders = order_snr(scores)
    panels = [kind for kind, present in (("spectrum", bool(spectra)), ("orders", bool(orders))) if present]
    figure = plt.figure(figsize=(11, 3.2 * len(panels) + 0.32 * min(len(key_scores(scores)), TABLE_ROWS) + 1.6))
    grid = figure.add_gridspec(len(panels) + 1, 1, height_ratios=[3] * len(panels) + [max(len(key_scores(scores)), 3) / 3])
    figure.suptitle(f"{ab.ab_id}\n{ab.raw_type} · {ab.recipe} · night {ab.night}", fontsize=10)
    for row, kind in enumerate(panels):
        axes = figure.add_subplot(grid[row])
        if kind == "spectrum":
            _spectrum_panel(axes, spectra)
        else:
            _orders_panel(axes, orders)
    _table_panel(figure.add_subplot(grid[len(panels)]), key_scores(scores))
    figure.tight_layout()
    return figure


def order_snr(scores: Sequence[QcScore]) -> dict[str, list[tuple[int, float]]]:
    """S/N per extracted order, by product, from the pipeline's QC.ORDi.OBJ.SN."""
    found: dict[str, list[tuple[int, float]]] = {}
    for score in scores:
        match = ORDER_SNR.match(score.parameter)
        if match and score.value is not None:
            found.setdefault(score.product, []).append((int(match.group(1)), score.value))
    return {product: sorted(values) for product, values in found.items()}


def key_scores(scores: Sequence[QcScore]) -> list[QcScore]:
    """Scored parameters and mandatory problems, outliers first."""
    shown = [s for s in scores if s.score is not None or s.grade is not None or "mandatory" in s.message]
    return sorted(shown, key=lambda s: ({1: 0, None: 1, 0: 2}[s.score], s.product, s.parameter))[:TABLE_ROWS]


def _spectrum_panel(axes: plt.Axes, spectra: Mapping[str, Spectrum]) -> None:
    for name, spectrum in spectra.items():
        good = spectrum.good
        axes.plot(spectrum.wave_nm[good], spectrum.flux[good], lw=0.3, label=name)
    axes.set_xlabel("wavelength [nm]")
    axes.set_ylabel("flux")
    axes.set_title("spectrum overview", fontsize=9)
    axes.legend(fontsize=7, loc="upper right")


def _orders_panel(axes: plt.Axes, orders: Mapping[str, list[tuple[int, float]]]) -> None:
    for product, values in orders.items():
        axes.plot([o for o, _ in values], [v for _, v in values], marker="o", ms=3, lw=1, label=product)
    axes.set_xlabel("extracted order")
    axes.set_ylabel("S/N")
    axes.set_title("S/N per order (QC.ORDi.OBJ.SN)", fontsize=9)
    axes.legend(fontsize=7, loc="lower right")


def _table_panel(axes: plt.Axes, scores: Sequence[QcScore]) -> None:
    axes.axis("off")
    if not scores:
        axes.text(0.5, 0.5, "no QC parameter has a threshold", ha="center", va="center")
        return
    rows = [[s.product, s.parameter, "" if s.value is None else f"{s.value:.4g} {s.unit}".strip(),
             "" if s.grade is None else f"{s.grade:.2f}", s.message] for s in scores]
    table = axes.table(cellText=rows, colLabels=["product", "parameter", "value", "grade", "verdict"],
                       loc="upper center", cellLoc="left", colWidths=[0.2, 0.2, 0.1, 0.06, 0.44])
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for row, score in enumerate(scores, start=1):
        table[row, 3].set_facecolor(COLOURS[score.score])
