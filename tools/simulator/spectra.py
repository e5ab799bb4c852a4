"""Light sources: lamps and the stars observed, with the truth that the reduction must recover."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

SPEED_OF_LIGHT_KMS = 299_792.458
PLANCK_HC_OVER_K_ANGSTROM_K = 1.4387769e8
LINES_PER_1000_ANGSTROM = 110
INTRINSIC_LINE_SIGMA_KMS = 2.5
LINE_SEPARATION_ANGSTROM = 1.2
STELLAR_RANGE_ANGSTROM = (3000.0, 11000.0)


class Star(BaseModel):
    """A real star (name and J2000 position from the literature) and the spectrum we give it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(examples=["HD 10700"])
    ra_deg: float
    dec_deg: float
    teff_k: float = Field(description="temperature of the blackbody continuum")
    rv_kms: float = Field(description="topocentric radial velocity injected into the spectrum")
    electrons_per_angstrom: float = Field(
        description="detected continuum at 5500 Å, per Å, whole exposure, at the blaze peak"
    )


# Nearby bright dwarfs: J2000 coordinates, effective temperature and catalogue radial
# velocity (used as the injected topocentric velocity; no barycentric correction is modelled).
STARS: tuple[Star, ...] = (
    Star(
        name="HD 10700",
        ra_deg=26.01701,
        dec_deg=-15.93748,
        teff_k=5344,
        rv_kms=-16.68,
        electrons_per_angstrom=1.6e5,
    ),
    Star(
        name="HD 102870",
        ra_deg=177.67383,
        dec_deg=1.76472,
        teff_k=6132,
        rv_kms=4.40,
        electrons_per_angstrom=1.3e5,
    ),
    Star(
        name="HD 146233",
        ra_deg=243.90529,
        dec_deg=-8.36942,
        teff_k=5818,
        rv_kms=11.82,
        electrons_per_angstrom=1.0e5,
    ),
    Star(
        name="HD 20794",
        ra_deg=49.98188,
        dec_deg=-43.06978,
        teff_k=5401,
        rv_kms=87.95,
        electrons_per_angstrom=1.2e5,
    ),
    Star(
        name="HD 22049",
        ra_deg=53.23269,
        dec_deg=-9.45826,
        teff_k=5084,
        rv_kms=16.38,
        electrons_per_angstrom=1.4e5,
    ),
    Star(
        name="HD 115617",
        ra_deg=199.60131,
        dec_deg=-18.31119,
        teff_k=5577,
        rv_kms=-7.93,
        electrons_per_angstrom=1.1e5,
    ),
    Star(
        name="HD 190248",
        ra_deg=302.18171,
        dec_deg=-66.18207,
        teff_k=5604,
        rv_kms=-21.70,
        electrons_per_angstrom=1.5e5,
    ),
    Star(
        name="HD 1581",
        ra_deg=5.01775,
        dec_deg=-64.87479,
        teff_k=5956,
        rv_kms=8.70,
        electrons_per_angstrom=1.0e5,
    ),
    Star(
        name="HD 128620",
        ra_deg=219.90206,
        dec_deg=-60.83399,
        teff_k=5790,
        rv_kms=-21.40,
        electrons_per_angstrom=2.0e5,
    ),
)


class AbsorptionLines(BaseModel):
    """Gaussian absorption lines at rest air wavelengths (Å) with central depths (0..1)."""

    model_config = ConfigDict(frozen=True)

    rest_air_angstrom: list[float]
    depths: list[float]


def absorption_lines(rng: np.random.Generator) -> AbsorptionLines:
    """A random but reproducible line list over the whole UVES range, lines kept apart so each is measurable."""
    low, high = STELLAR_RANGE_ANGSTROM
    count = int((high - low) / 1000.0 * LINES_PER_1000_ANGSTROM)
    candidates = np.sort(rng.uniform(low, high, count * 2))
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


def stellar_spectrum(
    wave_angstrom: np.ndarray,
    star: Star,
    lines: AbsorptionLines,
    instrument_sigma_angstrom: np.ndarray | float,
) -> np.ndarray:
    """Detected electrons per Å at the blaze peak, as the spectrograph records it (lines at its resolution)."""
    wave = np.asarray(wave_angstrom, dtype=float)
    shift = 1.0 + star.rv_kms / SPEED_OF_LIGHT_KMS
    centres = np.asarray(lines.rest_air_angstrom) * shift
    depths = np.asarray(lines.depths)
    near = (centres > wave.min() - 5.0) & (centres < wave.max() + 5.0)
    flux = star.electrons_per_angstrom * planck_photons(wave, star.teff_k)
    sigma_instrument = np.broadcast_to(np.asarray(instrument_sigma_angstrom, dtype=float), wave.shape)
    for centre, depth in zip(centres[near], depths[near], strict=True):
        sigma_intrinsic = centre * INTRINSIC_LINE_SIGMA_KMS / SPEED_OF_LIGHT_KMS
        sigma = np.hypot(sigma_intrinsic, sigma_instrument)
        # Convolving a Gaussian line with the instrument keeps its equivalent width, not its depth.
        observed_depth = depth * sigma_intrinsic / sigma
        flux *= 1.0 - observed_depth * np.exp(-0.5 * ((wave - centre) / sigma) ** 2)
    return flux


def lamp_continuum(wave_angstrom: np.ndarray) -> np.ndarray:
    """Quartz-halogen flat lamp (3100 K blackbody), normalised to 1 at 5500 Å."""
    return planck_photons(wave_angstrom, 3100.0)
