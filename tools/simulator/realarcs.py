"""Real UVES ThAr arcs, as ESO's pipeline measured them: the compact line tables the simulator is held to.

`data/eso_thar_lines.csv` keeps, for each setting and chip with a real LINE_TABLE (1x1 arcs
reduced by ESO's `uves_cal_wavecal`, see data/CREDITS.md), every identified line: absolute
order, X (rotated frame, 1x1 pixels), catalogue air wavelength, peak of the extracted line
(ADU) and its Gaussian width along X (pixels); comment lines `#arc` give each arc's exposure
time, slit width and gain. Based on data obtained from the ESO Science Archive Facility.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from astropy.io import fits

DATA_DIR = Path(__file__).parent / "data"
REAL_LINES_FILE = DATA_DIR / "eso_thar_lines.csv"
COLUMNS = ("setting", "chip", "order", "x", "wave", "peak", "sigma")


@dataclass(frozen=True)
class RealLines:
    """Identified lines of one real arc on one chip (1x1 pixels, air Å)."""

    order: np.ndarray
    x: np.ndarray
    wave: np.ndarray
    peak_adu: np.ndarray
    sigma_px: np.ndarray

    def select(self, keep: np.ndarray) -> RealLines:
        return RealLines(self.order[keep], self.x[keep], self.wave[keep], self.peak_adu[keep], self.sigma_px[keep])


@dataclass(frozen=True)
class RealArc:
    """How the real arc was taken: what its peaks scale with."""

    exptime_s: float
    slit_arcsec: float
    gain_adu_per_electron: float


def convert_line_tables(sources: dict[tuple[str, str], Path], target: Path = REAL_LINES_FILE) -> int:
    """Rewrite ESO LINE_TABLE files, {(setting name e.g. blue390, chip): path}, as the shipped CSV."""
    rows, arcs = [], []
    for (setting, chip), path in sorted(sources.items()):
        header = fits.getheader(path)
        slit = header.get("HIERARCH ESO INS SLIT2 WID") or header["HIERARCH ESO INS SLIT3 WID"]
        arcs.append(f"#arc {setting} {chip} {header['EXPTIME']:.3f} {slit} {header['HIERARCH ESO DET OUT1 GAIN']}\n")
        table = fits.getdata(path, 1)
        identified = table[(table["Ident"] > 0) & (table["Select"] != 0)]
        for line in identified:
            rows.append(
                (
                    setting,
                    chip,
                    int(round(float(line["AbsOrder"]))),
                    f"{line['X']:.3f}",
                    f"{line['Ident']:.4f}",
                    f"{line['Peak']:.1f}",
                    f"{line['Xwidth']:.3f}",
                )
            )
    with target.open("w", newline="") as handle:
        handle.write("# Based on data obtained from the ESO Science Archive Facility (see CREDITS.md)\n")
        handle.write("# arc: setting chip exptime_s slit_arcsec gain_adu_per_electron\n")
        handle.writelines(arcs)
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return len(rows)


@cache
def _all_rows() -> dict[tuple[str, str], list[tuple[float, ...]]]:
    grouped: dict[tuple[str, str], list[tuple[float, ...]]] = {}
    with REAL_LINES_FILE.open() as handle:
        reader = csv.DictReader(line for line in handle if not line.startswith("#"))
        for row in reader:
            values = (float(row["order"]), float(row["x"]), float(row["wave"]), float(row["peak"]), float(row["sigma"]))
            grouped.setdefault((row["setting"], row["chip"]), []).append(values)
    return grouped


def real_lines(setting: str, chip: str) -> RealLines | None:
    """The real identified lines of a setting (e.g. `blue390`) and chip, or None without a real table."""
    rows = _all_rows().get((setting, chip))
    if rows is None:
        return None
    table = np.array(rows)
    return RealLines(table[:, 0].astype(int), table[:, 1], table[:, 2], table[:, 3], table[:, 4])


@cache
def real_arcs() -> dict[tuple[str, str], RealArc]:
    """How each real arc was taken, by (setting, chip)."""
    arcs = {}
    for line in REAL_LINES_FILE.read_text().splitlines():
        if line.startswith("#arc "):
            _, setting, chip, exptime, slit, gain = line.split()
            arcs[(setting, chip)] = RealArc(float(exptime), float(slit), float(gain))
    return arcs


def real_settings() -> list[tuple[str, str]]:
    """(setting, chip) pairs with a real line table."""
    return sorted(_all_rows())
