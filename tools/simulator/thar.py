"""The laboratory ThAr line list: arc-lamp lines for the simulator and the pipeline's LINE_REFER_TABLE.

The list is PypeIt's `ThAr_lines.dat` (NIST + Murphy et al. 2007, BSD-3, see data/CREDITS.md),
converted once from vacuum to air wavelengths because UVES works in air.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from astropy.io import fits

DATA_DIR = Path(__file__).parent / "data"
THAR_AIR_LIST = DATA_DIR / "thar_lines_air.txt"

# Lines fainter than this (PypeIt relative amplitude) are left out of the reference table:
# the pipeline identifies lines it can centroid, and faint ones only add confusion.
REFERENCE_MIN_AMPLITUDE = 20.0
# A reference line needs this much clear space (Å) to its nearest neighbour of comparable
# brightness, otherwise blends pull the centroid.
REFERENCE_ISOLATION_ANGSTROM = 0.35


@dataclass(frozen=True)
class LineList:
    """Air wavelengths (Å) and relative amplitudes, sorted by wavelength."""

    wave_air: np.ndarray
    amplitude: np.ndarray

    def between(self, low: float, high: float) -> LineList:
        keep = (self.wave_air >= low) & (self.wave_air <= high)
        return LineList(self.wave_air[keep], self.amplitude[keep])


def vacuum_to_air(wave_vacuum_angstrom: np.ndarray) -> np.ndarray:
    """IAU standard conversion (Morton 2000, ApJS 130, 403), valid above 2000 Å."""
    sigma2 = (1.0e4 / np.asarray(wave_vacuum_angstrom, dtype=float)) ** 2
    index = 1.0 + 8.34254e-5 + 2.406147e-2 / (130.0 - sigma2) + 1.5998e-4 / (38.9 - sigma2)
    return wave_vacuum_angstrom / index


def convert_pypeit_list(source: Path, target: Path = THAR_AIR_LIST) -> int:
    """Rewrite PypeIt's vacuum `ThAr_lines.dat` as the compact air list this package ships."""
    rows = [_parse_pypeit_row(line) for line in source.read_text().splitlines()]
    lines = sorted(row for row in rows if row is not None)
    waves = vacuum_to_air(np.array([wave for wave, _ in lines]))
    body = "".join(f"{wave:.4f} {amplitude:g}\n" for wave, (_, amplitude) in zip(waves, lines, strict=True))
    header = (
        "# ThAr lines, air wavelength (Angstrom, IAU/Morton 2000 from vacuum) and relative amplitude\n"
        f"# converted from PypeIt {source.name} (NIST + Murphy et al. 2007), BSD-3, see CREDITS.md\n"
    )
    target.write_text(header + body)
    return len(lines)


def _parse_pypeit_row(line: str) -> tuple[float, float] | None:
    match = re.match(r"^\|\s*[^|]+\|\s*([0-9.]+)\s*\|\s*\d+\s*\|\s*\d+\s*\|\s*([0-9.]+)\s*\|", line)
    return (float(match.group(1)), float(match.group(2))) if match else None


@cache
def thar_lines() -> LineList:
    """Every line of the shipped list (about 17,000 between 3000 and 11000 Å)."""
    table = np.loadtxt(THAR_AIR_LIST, comments="#", ndmin=2)
    return LineList(table[:, 0], table[:, 1])


def reference_lines() -> LineList:
    """Bright, isolated lines: what the pipeline should identify (its LINE_REFER_TABLE)."""
    lines = thar_lines()
    bright = lines.amplitude >= REFERENCE_MIN_AMPLITUDE
    isolated = _isolated(lines.wave_air, lines.amplitude)
    keep = bright & isolated
    return LineList(lines.wave_air[keep], lines.amplitude[keep])


def _isolated(wave: np.ndarray, amplitude: np.ndarray) -> np.ndarray:
    """True where no neighbour within the isolation distance is brighter than a tenth of the line."""
    ok = np.ones(wave.size, dtype=bool)
    for step in (1, 2, 3):
        gap_next = np.full(wave.size, np.inf)
        gap_next[:-step] = wave[step:] - wave[:-step]
        brighter_next = np.zeros(wave.size, dtype=bool)
        brighter_next[:-step] = amplitude[step:] > 0.1 * amplitude[:-step]
        gap_prev = np.full(wave.size, np.inf)
        gap_prev[step:] = wave[step:] - wave[:-step]
        brighter_prev = np.zeros(wave.size, dtype=bool)
        brighter_prev[step:] = amplitude[:-step] > 0.1 * amplitude[step:]
        ok &= ~((gap_next < REFERENCE_ISOLATION_ANGSTROM) & brighter_next)
        ok &= ~((gap_prev < REFERENCE_ISOLATION_ANGSTROM) & brighter_prev)
    return ok


def write_line_refer_table(path: Path, lines: LineList | None = None) -> Path:
    """Write a UVES LINE_REFER_TABLE (FITS table with a WAVE column, air Å) and return its path."""
    lines = reference_lines() if lines is None else lines
    columns = [
        fits.Column(name="WAVE", format="D", unit="Angstrom", array=lines.wave_air),
        fits.Column(name="INTENSITY", format="D", array=lines.amplitude),
    ]
    table = fits.BinTableHDU.from_columns(columns)
    primary = fits.PrimaryHDU()
    primary.header["INSTRUME"] = "UVES"
    primary.header["HIERARCH ESO PRO CATG"] = "LINE_REFER_TABLE"
    primary.header["COMMENT"] = "ThAr air wavelengths from the PypeIt list (NIST + Murphy et al. 2007)"
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList([primary, table]).writeto(path, overwrite=True)
    return path
