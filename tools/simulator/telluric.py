"""Earth's atmosphere in the red: O₂ and H₂O absorption bands, deeper with airmass.

The bands' ranges and their deepest lines at airmass 1 follow the telluric atlases used at
Paranal (O₂ γ, B and A bands, the H₂O bands at 720, 820 and 930 nm, for about 2.5 mm of
precipitable water). Inside a band the individual lines are synthetic: positions spaced as
rotational lines are (0.3–1.5 Å apart), optical depths drawn between the band's weak and deep
ends, the same every night (the molecules do not change), unresolved by UVES. They are fixed
on the topocentric frame, not shifted with the star.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

LINE_FWHM_ANGSTROM = 0.04
TELLURIC_SEED = 7


@dataclass(frozen=True)
class Band:
    name: str
    low: float
    high: float
    deepest: float


BANDS: tuple[Band, ...] = (
    Band("O2 gamma", 6276.0, 6320.0, 0.35),
    Band("H2O 650", 6470.0, 6580.0, 0.08),
    Band("O2 B", 6867.0, 6935.0, 0.85),
    Band("H2O 720", 7160.0, 7340.0, 0.60),
    Band("O2 A", 7594.0, 7700.0, 0.98),
    Band("H2O 820", 8130.0, 8350.0, 0.45),
    Band("H2O 930", 8950.0, 9800.0, 0.90),
)


@cache
def telluric_lines() -> tuple[np.ndarray, np.ndarray]:
    """(air wavelengths Å, optical depths at airmass 1) of every telluric line."""
    rng = np.random.default_rng(TELLURIC_SEED)
    waves, depths = [], []
    for band in BANDS:
        position = band.low
        while position < band.high:
            waves.append(position)
            depth = band.deepest * rng.uniform(0.0, 1.0) ** 2
            depths.append(-np.log1p(-min(depth, 0.995)))
            position += rng.uniform(0.3, 1.5)
    return np.array(waves), np.array(depths)


def transmission(wave: np.ndarray, airmass: float) -> np.ndarray:
    """Fraction of starlight let through at these (topocentric, air) wavelengths."""
    wave = np.asarray(wave, dtype=float)
    centres, tau = telluric_lines()
    sigma = LINE_FWHM_ANGSTROM / 2.3548200450309493
    optical_depth = np.zeros(wave.size)
    near = (centres > wave.min() - 1.0) & (centres < wave.max() + 1.0)
    for centre, depth in zip(centres[near], tau[near], strict=True):
        window = slice(*np.searchsorted(wave, [centre - 6 * sigma, centre + 6 * sigma]))
        optical_depth[window] += depth * np.exp(-0.5 * ((wave[window] - centre) / sigma) ** 2)
    return np.exp(-airmass * optical_depth)


def band_ranges() -> list[tuple[float, float]]:
    return [(band.low, band.high) for band in BANDS]
