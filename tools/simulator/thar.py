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

from tools.simulator.realarcs import real_lines, real_settings

DATA_DIR = Path(__file__).parent / "data"
THAR_AIR_LIST = DATA_DIR / "thar_lines_air.txt"

# Lines fainter than this (PypeIt relative amplitude) are left out of the reference table.
# The amplitudes predict real arc fluxes poorly (0.6–0.75 dex scatter), so the cut is low;
# where a real arc was measured (`realarcs`), only the lines it identified are kept, since
# the others are too faint or blended to be seen. The table then holds 83–90 % of the lines
# ESO's pipeline identified on real arcs (tests/integration/simulator/test_arcs_match_real.py).
REFERENCE_MIN_AMPLITUDE = 2.0
MATCH_ANGSTROM = 0.01
"""A measured line and a laboratory line closer than this (Å) are the same line."""
# A reference line needs this much clear space (Å) to its nearest neighbour of comparable
# brightness, otherwise blends pull the centroid (0.1 Å is 3σ of a 1.0" line in the blue).
REFERENCE_ISOLATION_ANGSTROM = 0.1


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
    keep = bright & isolated & ~unseen_in_real_arcs(lines.wave_air)
    return LineList(lines.wave_air[keep], lines.amplitude[keep])


def nearest_lines(wave: np.ndarray, catalogue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each wavelength, the index of the nearest entry of the sorted `catalogue` and the distance to it."""
    index = np.clip(np.searchsorted(catalogue, wave), 1, catalogue.size - 1)
    left = np.abs(catalogue[index - 1] - wave) < np.abs(catalogue[index] - wave)
    index = np.where(left, index - 1, index)
    return index, np.abs(catalogue[index] - wave)


def unseen_in_real_arcs(wave: np.ndarray) -> np.ndarray:
    """True where a real arc covered the wavelength but its reduction did not identify a line there."""
    identified = np.unique(np.concatenate([real_lines(*key).wave for key in real_settings()]))
    _, distance = nearest_lines(wave, identified)
    covered = np.zeros(wave.size, dtype=bool)
    for key in real_settings():
        real = real_lines(*key).wave
        covered |= (wave >= real.min()) & (wave <= real.max())
    return covered & (distance >= MATCH_ANGSTROM)


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
