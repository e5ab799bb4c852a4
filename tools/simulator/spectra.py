"""Light sources: lamps and the stars observed, with the truth that the reduction must recover.

A star's spectrum is a blackbody continuum times (1) the strong lines of a cool dwarf at
literature strengths (`stronglines`), (2) a forest of weaker synthetic lines at exactly known
rest wavelengths and depths, kept clear of the strong lines and the telluric bands, on which
the radial velocity is measured, (3) rotation and macroturbulence; then shifted by its radial
velocity, seen through the atmosphere (`telluric`) and the spectrograph's resolution.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.simulator.stronglines import STRONG_LINES, line_depth, strong_line_windows
from tools.simulator.telluric import band_ranges, transmission

SPEED_OF_LIGHT_KMS = 299_792.458
PLANCK_HC_OVER_K_ANGSTROM_K = 1.4387769e8
LINES_PER_1000_ANGSTROM = 110
# Thermal and microturbulent width of a weak line; rotation and macroturbulence come on top.
INTRINSIC_LINE_SIGMA_KMS = 1.5
LINE_SEPARATION_ANGSTROM = 1.2
STELLAR_RANGE_ANGSTROM = (3000.0, 11000.0)
# Weak lines stay this far (Å) from a telluric band, whatever the star's velocity.
TELLURIC_MARGIN_ANGSTROM = 4.0
VELOCITY_STEP_KMS = 0.5
LIMB_DARKENING = 0.6


class Star(BaseModel):
    """A real star (name and J2000 position from the literature) and the spectrum we give it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(examples=["HD 10700"])
    ra_deg: float
    dec_deg: float
    teff_k: float = Field(description="effective temperature: continuum and line strengths")
    rv_kms: float = Field(description="topocentric radial velocity injected into the spectrum")
    vsini_kms: float = Field(2.0, description="projected rotational velocity (literature)")
    electrons_per_angstrom: float = Field(
        description="detected continuum at 5500 Å, per Å, whole exposure, at the blaze peak"
    )


# Nearby bright dwarfs: J2000 coordinates, effective temperature and catalogue radial
# velocity (used as the injected topocentric velocity; no barycentric correction is modelled).
_STAR_ROWS = (
    # name, RA and Dec [deg], Teff [K], RV [km/s], electrons per Å at 5500 Å, v sin i [km/s]
    ("HD 10700",     26.01701,  -15.93748, 5344,  -16.68, 1.6e5, 1.0),
    ("HD 102870",   177.67383,    1.76472, 6132,    4.40, 1.3e5, 4.0),
    ("HD 146233",   243.90529,   -8.36942, 5818,   11.82, 1.0e5, 2.0),
    ("HD 20794",     49.98188,  -43.06978, 5401,   87.95, 1.2e5, 1.0),
    ("HD 22049",     53.23269,   -9.45826, 5084,   16.38, 1.4e5, 2.4),
    ("HD 115617",   199.60131,  -18.31119, 5577,   -7.93, 1.1e5, 1.0),
    ("HD 190248",   302.18171,  -66.18207, 5604,  -21.70, 1.5e5, 1.5),
    ("HD 1581",       5.01775,  -64.87479, 5956,    8.70, 1.0e5, 2.0),
    ("HD 128620",   219.90206,  -60.83399, 5790,  -21.40, 2.0e5, 2.3),
)
STARS: tuple[Star, ...] = tuple(
    Star(name=name, ra_deg=ra, dec_deg=dec, teff_k=teff, rv_kms=rv, electrons_per_angstrom=electrons, vsini_kms=vsini)
    for name, ra, dec, teff, rv, electrons, vsini in _STAR_ROWS
)


class AbsorptionLines(BaseModel):
    """Gaussian absorption lines at rest air wavelengths (Å) with central depths (0..1)."""

    model_config = ConfigDict(frozen=True)

    rest_air_angstrom: list[float]
    depths: list[float]


def absorption_lines(rng: np.random.Generator, teff_k: float) -> AbsorptionLines:
    """A random but reproducible weak-line list over the whole UVES range, lines kept apart so each
    is measurable, and clear of the strong lines and telluric bands."""
    low, high = STELLAR_RANGE_ANGSTROM
    count = int((high - low) / 1000.0 * LINES_PER_1000_ANGSTROM)
    candidates = np.sort(rng.uniform(low, high, count * 2))
    clear = np.ones(candidates.size, dtype=bool)
    for start, stop in strong_line_windows(teff_k):
        clear &= (candidates < start) | (candidates > stop)
    for start, stop in band_ranges():
        clear &= (candidates < start - TELLURIC_MARGIN_ANGSTROM) | (candidates > stop + TELLURIC_MARGIN_ANGSTROM)
    candidates = candidates[clear]
    kept = [candidates[0]]
    for wave in candidates[1:]:
        if wave - kept[-1] >= LINE_SEPARATION_ANGSTROM:
            kept.append(wave)
    waves = np.round(np.array(kept[:count]), 4)
    depths = np.round(rng.uniform(0.3, 0.8, waves.size), 3)
    return AbsorptionLines(rest_air_angstrom=waves.tolist(), depths=depths.tolist())


def planck_photons(wave_angstrom: np.ndarray, teff_k: float) -> np.ndarray:
    """Blackbody photon flux per Å, normalised to 1 at 5500 Å."""

    def photons(wave: np.ndarray) -> np.ndarray:
        return wave**-4 / np.expm1(PLANCK_HC_OVER_K_ANGSTROM_K / (wave * teff_k))

    return photons(np.asarray(wave_angstrom, dtype=float)) / photons(np.array(5500.0))


def macroturbulence_kms(teff_k: float) -> float:
    """Radial-tangential macroturbulence of a dwarf (Valenti & Fischer 2005, ApJS 159, 141, eq. 1)."""
    return max(0.5, 3.98 + (teff_k - 5770.0) / 650.0)


def broadening_kernel(vsini_kms: float, macro_kms: float) -> np.ndarray:
    """Rotation (Gray's profile, linear limb darkening) convolved with macroturbulence, on the velocity grid.

    The radial-tangential macroturbulence profile is replaced by a Gaussian of σ = ζ/2 (about
    its second moment); the pipeline resolves neither shape.
    """
    # An odd number of samples centred on zero: an even kernel would shift the spectrum half a step.
    steps = int(np.ceil((vsini_kms + 4.0 * macro_kms / 2.0) / VELOCITY_STEP_KMS)) + 1
    velocity = np.arange(-steps, steps + 1) * VELOCITY_STEP_KMS
    x = np.clip(velocity / max(vsini_kms, VELOCITY_STEP_KMS), -1.0, 1.0)
    eps = LIMB_DARKENING
    rotation = np.where(
        np.abs(velocity) <= max(vsini_kms, VELOCITY_STEP_KMS),
        2.0 * (1.0 - eps) * np.sqrt(1.0 - x**2) + 0.5 * np.pi * eps * (1.0 - x**2),
        0.0,
    )
    macro = np.exp(-0.5 * (velocity / (macro_kms / 2.0)) ** 2)
    kernel = np.convolve(rotation / rotation.sum(), macro / macro.sum(), mode="same")
    return kernel / kernel.sum()


@lru_cache(maxsize=1)
def log_wave_grid() -> np.ndarray:
    """ln λ (Å) at constant velocity steps over the stellar range."""
    low, high = STELLAR_RANGE_ANGSTROM
    step = np.log1p(VELOCITY_STEP_KMS / SPEED_OF_LIGHT_KMS)
    return np.arange(np.log(low), np.log(high), step)


@lru_cache(maxsize=16)
def _rest_frame_spectrum(teff_k: float, vsini_kms: float, waves: tuple, depths: tuple) -> np.ndarray:
    """Normalised flux on the log grid in the star's frame: strong and weak lines, rotation, macroturbulence."""
    wave = np.exp(log_wave_grid())
    flux = np.ones(wave.size)
    for line in STRONG_LINES:
        start, stop = np.searchsorted(
            wave, [line.wave_air - line.half_window(teff_k), line.wave_air + line.half_window(teff_k)]
        )
        flux[start:stop] *= 1.0 - line_depth(line, teff_k, wave[start:stop])
    reach = 6.0 * INTRINSIC_LINE_SIGMA_KMS / VELOCITY_STEP_KMS
    for centre, depth in zip(waves, depths, strict=True):
        index = np.searchsorted(wave, centre)
        window = slice(max(int(index - reach), 0), int(index + reach) + 1)
        offset_kms = (wave[window] / centre - 1.0) * SPEED_OF_LIGHT_KMS
        flux[window] *= 1.0 - depth * np.exp(-0.5 * (offset_kms / INTRINSIC_LINE_SIGMA_KMS) ** 2)
    kernel = broadening_kernel(vsini_kms, macroturbulence_kms(teff_k))
    return np.convolve(flux, kernel, mode="same")


def normalised_spectrum(
    wave_angstrom: np.ndarray,
    star: Star,
    lines: AbsorptionLines,
    instrument_sigma_kms: float,
    airmass: float,
) -> np.ndarray:
    """The star's flux over its continuum, as the spectrograph records it at these (sorted) wavelengths."""
    wave = np.asarray(wave_angstrom, dtype=float)
    grid = log_wave_grid()
    pad = np.log1p(20.0 * max(instrument_sigma_kms, 1.0) / SPEED_OF_LIGHT_KMS)
    start, stop = np.searchsorted(grid, [np.log(wave.min()) - pad, np.log(wave.max()) + pad])
    observed = grid[start:stop]
    rest = _rest_frame_spectrum(star.teff_k, star.vsini_kms, tuple(lines.rest_air_angstrom), tuple(lines.depths))
    flux = np.interp(observed - np.log1p(star.rv_kms / SPEED_OF_LIGHT_KMS), grid, rest)
    flux *= transmission(np.exp(observed), airmass)
    steps = instrument_sigma_kms / VELOCITY_STEP_KMS
    offsets = np.arange(-int(np.ceil(5 * steps)), int(np.ceil(5 * steps)) + 1)
    kernel = np.exp(-0.5 * (offsets / steps) ** 2)
    flux = np.convolve(flux, kernel / kernel.sum(), mode="same")
    return np.interp(np.log(wave), observed, flux)


def stellar_spectrum(
    wave_angstrom: np.ndarray,
    star: Star,
    lines: AbsorptionLines,
    instrument_sigma_angstrom: np.ndarray | float,
    airmass: float = 1.0,
) -> np.ndarray:
    """Detected electrons per Å at the blaze peak, as the spectrograph records it (lines at its resolution).

    The instrument's Gaussian σ is taken constant in velocity over the call (its median), as
    it nearly is along an echelle order.
    """
    wave = np.asarray(wave_angstrom, dtype=float)
    sigma_kms = float(np.median(np.asarray(instrument_sigma_angstrom) / wave)) * SPEED_OF_LIGHT_KMS
    order = np.argsort(wave)
    normalised = np.empty(wave.size)
    normalised[order] = normalised_spectrum(wave[order], star, lines, sigma_kms, airmass)
    return star.electrons_per_angstrom * planck_photons(wave, star.teff_k) * normalised


def lamp_continuum(wave_angstrom: np.ndarray) -> np.ndarray:
    """Quartz-halogen flat lamp (3100 K blackbody), normalised to 1 at 5500 Å."""
    return planck_photons(wave_angstrom, 3100.0)
