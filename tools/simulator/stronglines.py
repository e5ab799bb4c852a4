"""The strong lines of a cool dwarf's spectrum: Voigt profiles at literature equivalent widths.

Source: solar equivalent widths of the Rowland table (Moore, Minnaert & Houtgast 1966, "The
Solar Spectrum 2935 Å to 8770 Å", NBS Monograph 61,
https://nvlpubs.nist.gov/nistpubs/Legacy/MONO/nbsmonograph61.pdf), to 0.01 Å, for the lines a
reader checks first: the Balmer series, Ca II H and K and the infrared triplet, Na D, Mg b,
Ca I 4227 and a set of strong Fe I lines. Checked line by line (2026-12) against a
transcription of the monograph's table (wavelength, EW in mÅ): the 27 lines other than Ca II H
and K agree to its rounding (Ca II 8498 was 1.46, the table says 1.470 Å: corrected); K
(20.253 Å) and H (15.467 Å) are the monograph's values as usually quoted, the transcription
reached gives them only as rounded display figures. Wavelengths are laboratory air values
(NIST), 0.007-0.023 Å below the monograph's solar ones, which carry the Sun's gravitational
redshift (0.64 km/s): the truth of a simulated star is its rest frame. Central depths and
Lorentz widths are not in the table: they are this module's shape parameters. Why line data and not
a shipped atlas: no package on the registries we use ships a high-resolution stellar atlas,
and a line list keeps the truth exact (every line's rest wavelength and strength is known to
the checks). For other temperatures the widths are scaled as power laws of Teff/Teff☉
(Balmer lines weaken towards cooler stars, neutral-metal lines strengthen, Ca II changes
little), which is what spectral-type sequences show between F8 and K2 to about 20 %.

Each line's residual flux is 1 − D·(1 − exp(−τ₀·V(Δλ))) with V a unit-peak pseudo-Voigt
(Thompson, Cox & Hastings 1987): D is the central depth of the saturated core, the Lorentz
width sets the damping wings, and τ₀ is solved so that the equivalent width is the literature one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

SPEED_OF_LIGHT_KMS = 299_792.458
SOLAR_TEFF_K = 5772.0
FWHM_PER_SIGMA = 2.3548200450309493


class Species(StrEnum):
    HYDROGEN = "hydrogen"
    NEUTRAL_METAL = "neutral metal"
    IONISED_CALCIUM = "ionised calcium"


# EW ∝ (Teff / Teff☉)^exponent.
TEFF_EXPONENT: dict[Species, float] = {
    Species.HYDROGEN: 5.0,
    Species.NEUTRAL_METAL: -4.0,
    Species.IONISED_CALCIUM: -1.0,
}
# Doppler (thermal + microturbulent, 1 km/s) FWHM of the core, km/s.
DOPPLER_FWHM_KMS: dict[Species, float] = {
    Species.HYDROGEN: 22.0,
    Species.NEUTRAL_METAL: 3.5,
    Species.IONISED_CALCIUM: 3.5,
}


@dataclass(frozen=True)
class StrongLine:
    name: str
    wave_air: float = 0.0
    solar_ew: float = 0.0
    core_depth: float = 0.0
    lorentz_fwhm: float = 0.0
    species: Species = Species.NEUTRAL_METAL

    def equivalent_width(self, teff_k: float) -> float:
        """Equivalent width (Å) in a dwarf of this temperature."""
        return self.solar_ew * (teff_k / SOLAR_TEFF_K) ** TEFF_EXPONENT[self.species]

    def half_window(self, teff_k: float) -> float:
        """Å either side of the centre that hold the line (damping wings beyond it hold < 1 % of its width)."""
        return max(2.0, 10.0 * self.equivalent_width(teff_k))


H, CA2, METAL = Species.HYDROGEN, Species.IONISED_CALCIUM, Species.NEUTRAL_METAL
# name, air wavelength (Å), solar EW (Å), solar central depth, Lorentz FWHM (Å), species
STRONG_LINES: tuple[StrongLine, ...] = (
    StrongLine("H alpha", 6562.80, 4.02, 0.84, 0.40, H),
    StrongLine("H beta", 4861.34, 3.68, 0.86, 0.35, H),
    StrongLine("H gamma", 4340.47, 2.86, 0.83, 0.30, H),
    StrongLine("H delta", 4101.74, 3.13, 0.82, 0.30, H),
    StrongLine("Ca II K", 3933.66, 20.25, 0.93, 1.20, CA2),
    StrongLine("Ca II H", 3968.47, 15.47, 0.92, 1.00, CA2),
    StrongLine("Ca II 8498", 8498.02, 1.47, 0.60, 0.20, CA2),
    StrongLine("Ca II 8542", 8542.09, 3.67, 0.80, 0.30, CA2),
    StrongLine("Ca II 8662", 8662.14, 2.60, 0.76, 0.25, CA2),
    StrongLine("Na D2", 5889.95, 0.75, 0.95, 0.06, METAL),
    StrongLine("Na D1", 5895.92, 0.56, 0.93, 0.05, METAL),
    StrongLine("Mg b1", 5183.60, 1.58, 0.90, 0.12, METAL),
    StrongLine("Mg b2", 5172.68, 1.26, 0.88, 0.10, METAL),
    StrongLine("Mg b4", 5167.32, 0.94, 0.85, 0.08, METAL),
    StrongLine("Ca I 4227", 4226.73, 1.48, 0.93, 0.10, METAL),
    StrongLine("Fe I 3581", 3581.19, 2.14, 0.90, 0.15, METAL),
    StrongLine("Fe I 3735", 3734.86, 3.03, 0.90, 0.20, METAL),
    StrongLine("Fe I 3820", 3820.43, 1.71, 0.88, 0.12, METAL),
    StrongLine("Fe I 3860", 3859.91, 1.55, 0.88, 0.10, METAL),
    StrongLine("Fe I 4046", 4045.81, 1.17, 0.85, 0.08, METAL),
    StrongLine("Fe I 4064", 4063.59, 0.79, 0.82, 0.05, METAL),
    StrongLine("Fe I 4072", 4071.74, 0.72, 0.80, 0.05, METAL),
    StrongLine("Fe I 4272", 4271.76, 0.76, 0.80, 0.05, METAL),
    StrongLine("Fe I 4326", 4325.76, 0.79, 0.80, 0.05, METAL),
    StrongLine("Fe I 4384", 4383.55, 1.01, 0.83, 0.07, METAL),
    StrongLine("Fe I 4405", 4404.75, 0.90, 0.82, 0.06, METAL),
    StrongLine("Fe I 4958", 4957.60, 0.70, 0.78, 0.04, METAL),
    StrongLine("Fe I 5270", 5269.54, 0.48, 0.75, 0.03, METAL),
    StrongLine("Fe I 5328", 5328.04, 0.38, 0.73, 0.03, METAL),
)


def pseudo_voigt(offset: np.ndarray, gauss_fwhm: float, lorentz_fwhm: float) -> np.ndarray:
    """Unit-peak pseudo-Voigt of the given Gaussian and Lorentzian FWHMs (Thompson et al. 1987)."""
    g, lo = gauss_fwhm, lorentz_fwhm
    fwhm = (
        g**5 + 2.69269 * g**4 * lo + 2.42843 * g**3 * lo**2 + 4.47163 * g**2 * lo**3 + 0.07842 * g * lo**4 + lo**5
    ) ** 0.2
    ratio = lo / fwhm
    eta = 1.36603 * ratio - 0.47719 * ratio**2 + 0.11116 * ratio**3
    gauss = np.exp(-4.0 * np.log(2.0) * (offset / fwhm) ** 2)
    lorentz = 1.0 / (1.0 + 4.0 * (offset / fwhm) ** 2)
    return eta * lorentz + (1.0 - eta) * gauss


def line_depth(line: StrongLine, teff_k: float, wave: np.ndarray) -> np.ndarray:
    """1 − residual flux of the line on a rest-frame wavelength grid (zero outside its window)."""
    offset = np.asarray(wave, dtype=float) - line.wave_air
    inside = np.abs(offset) < line.half_window(teff_k)
    depth = np.zeros(offset.size)
    if not inside.any():
        return depth
    gauss_fwhm = line.wave_air * DOPPLER_FWHM_KMS[line.species] / SPEED_OF_LIGHT_KMS
    shape = pseudo_voigt(offset[inside], gauss_fwhm, line.lorentz_fwhm)
    depth[inside] = line.core_depth * -np.expm1(-_opacity(line, teff_k, gauss_fwhm) * shape)
    return depth


def _opacity(line: StrongLine, teff_k: float, gauss_fwhm: float) -> float:
    """τ₀ giving the line its equivalent width (bisection in log τ₀ on a fine local grid)."""
    target = line.equivalent_width(teff_k)
    half = line.half_window(teff_k)
    step = min(gauss_fwhm, line.lorentz_fwhm) / 3.0
    offset = np.arange(-half, half + step, step)
    shape = pseudo_voigt(offset, gauss_fwhm, line.lorentz_fwhm)
    low, high = -6.0, 12.0
    for _ in range(40):
        middle = 0.5 * (low + high)
        width = float(np.sum(line.core_depth * -np.expm1(-(10.0**middle) * shape)) * step)
        low, high = (middle, high) if width < target else (low, middle)
    return 10.0 ** (0.5 * (low + high))


def strong_line_windows(teff_k: float) -> list[tuple[float, float]]:
    """Rest-frame ranges (Å) where strong lines take flux: no weak line is placed there."""
    return [
        (line.wave_air - line.half_window(teff_k), line.wave_air + line.half_window(teff_k)) for line in STRONG_LINES
    ]
