"""QC parameters of an AB's products (pure: arrays and headers in, measurements out).

Two sources: the QC keywords the pipeline wrote (Product.qc, else the FITS header), and
science QC we compute from an SDP 1D spectrum, from the raw frames and, for simulated nights,
from the truth the simulator wrote beside the raw frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

SPEED_OF_LIGHT_KMS = 299_792.458
TRUTH_PRO_CATG = "SIMULATION_TRUTH"
"""PRO.CATG of the optional ANCILLARY product carrying a simulated frame's `<ARCFILE>.truth.json`."""
HEADER_PREFIXES = ("ESO QC ", "ESO PRO DATAMED")
CONTINUUM_CHUNK_PX = 400
CCF_STEP_KMS = 0.5
CCF_HALF_WIDTH_KMS = 40.0


@dataclass(frozen=True)
class Measurement:
    product: str
    pro_catg: str
    parameter: str
    value: object
    """As found: a number, or whatever was there (a string, None) so it can be reported unscored."""
    unit: str = ""


@dataclass(frozen=True)
class Spectrum:
    """An SDP 1D spectrum: wavelengths in nm, flux, error, quality (0 = good)."""

    wave_nm: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    quality: np.ndarray

    @property
    def good(self) -> np.ndarray:
        return (self.quality == 0) & np.isfinite(self.flux) & np.isfinite(self.error) & (self.error > 0)


@dataclass(frozen=True)
class Truth:
    """What the simulator injected into a science frame."""

    rv_kms: float
    lines_rest_air_angstrom: tuple[float, ...]
    line_depths: tuple[float, ...]

    @classmethod
    def from_document(cls, document: Mapping[str, object]) -> Truth:
        return cls(
            rv_kms=float(document["rv_kms"]),  # type: ignore[arg-type]
            lines_rest_air_angstrom=tuple(float(x) for x in document["lines_rest_air_angstrom"]),  # type: ignore[attr-defined]
            line_depths=tuple(float(x) for x in document["line_depths"]),  # type: ignore[attr-defined]
        )


def dotted(header_key: str) -> str:
    """`ESO QC OUT1 RON MASTER` → `QC.OUT1.RON.MASTER`."""
    return ".".join(header_key.removeprefix("ESO ").split())


def header_qc(header: Mapping[str, object]) -> dict[str, object]:
    """The pipeline's QC keywords (and PRO.DATAMED, ESO's bias/flat level) of a FITS header, dotted."""
    return {dotted(key): value for key, value in header.items() if key.startswith(HEADER_PREFIXES)}


def spectrum_measurements(product: str, pro_catg: str, spectrum: Spectrum, nominal_nm: tuple[float, float] | None,
                          truth: Truth | None, resolving_power: float) -> list[Measurement]:
    good = spectrum.good
    values: dict[str, tuple[float | None, str]] = {
        "SDP.SNR.MEDIAN": (median_snr(spectrum), ""),
        "SDP.FLAGGED.FRACTION": (1.0 - float(good.mean()) if good.size else None, ""),
        "SDP.CONTINUUM.LEVEL": (continuum_level(spectrum), "flux"),
        "SDP.WAVE.MIN": (float(spectrum.wave_nm[good].min()) if good.any() else None, "nm"),
        "SDP.WAVE.MAX": (float(spectrum.wave_nm[good].max()) if good.any() else None, "nm"),
    }
    if nominal_nm is not None:
        values["SDP.WAVE.COVERAGE"] = (coverage(spectrum, nominal_nm), "")
    if truth is not None:
        values["SDP.RV.OFFSET"] = (rv_offset_kms(spectrum, truth, resolving_power), "km/s")
    return [Measurement(product, pro_catg, name, value, unit) for name, (value, unit) in values.items()]


def median_snr(spectrum: Spectrum) -> float | None:
    good = spectrum.good
    return float(np.median(spectrum.flux[good] / spectrum.error[good])) if good.any() else None


def coverage(spectrum: Spectrum, nominal_nm: tuple[float, float]) -> float | None:
    """Fraction of the setting's nominal range with good pixels (gaps between orders or chips count as missing)."""
    low, high = nominal_nm
    wave = spectrum.wave_nm[spectrum.good]
    wave = np.sort(wave[(wave >= low) & (wave <= high)])
    if wave.size < 2:
        return 0.0
    steps = np.diff(wave)
    typical = float(np.median(steps))
    covered = float(np.sum(steps[steps <= 3.0 * typical]))
    return min(covered / (high - low), 1.0)


def continuum_envelope(spectrum: Spectrum) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength, level) of the upper envelope: the 90th percentile of good flux per chunk."""
    good = spectrum.good
    wave, flux = spectrum.wave_nm[good], spectrum.flux[good]
    full = wave.size - wave.size % CONTINUUM_CHUNK_PX
    centres = np.median(wave[:full].reshape(-1, CONTINUUM_CHUNK_PX), axis=1)
    levels = np.percentile(flux[:full].reshape(-1, CONTINUUM_CHUNK_PX), 90, axis=1)
    if wave.size - full >= CONTINUUM_CHUNK_PX // 4:  # the last, shorter chunk
        centres = np.append(centres, np.median(wave[full:]))
        levels = np.append(levels, np.percentile(flux[full:], 90))
    return centres, levels


def continuum_level(spectrum: Spectrum) -> float | None:
    _, levels = continuum_envelope(spectrum)
    return float(np.median(levels)) if levels.size else None


def rv_offset_kms(spectrum: Spectrum, truth: Truth, resolving_power: float) -> float | None:
    """Measured minus injected radial velocity, from the cross-correlation with the injected line list."""
    measured = cross_correlation_rv(spectrum, truth, resolving_power)
    return None if measured is None else measured - truth.rv_kms


def cross_correlation_rv(spectrum: Spectrum, truth: Truth, resolving_power: float) -> float | None:
    """RV [km/s] at the peak of the CCF of the continuum-normalised spectrum with a line template.

    Both are resampled on a uniform ln λ grid (CCF_STEP_KMS per pixel), so a velocity shift is
    an index shift; the peak is refined with a parabola through its three highest points.
    """
    centres, levels = continuum_envelope(spectrum)
    good = spectrum.good
    if centres.size < 2:
        return None
    level = np.interp(spectrum.wave_nm, centres, levels)
    usable = good & (level > 0)
    if usable.sum() < CONTINUUM_CHUNK_PX:
        return None
    wave_a = spectrum.wave_nm[usable] * 10.0
    depth = np.clip(1.0 - spectrum.flux[usable] / level[usable], -1.0, 1.0)
    step = CCF_STEP_KMS / SPEED_OF_LIGHT_KMS
    grid = np.arange(np.log(wave_a.min()), np.log(wave_a.max()), step)
    observed = np.interp(grid, np.log(wave_a), depth)
    observed -= observed.mean()
    template = _line_template(grid, truth, resolving_power)
    if not template.any():
        return None
    centre_lag = int(round(truth.rv_kms / CCF_STEP_KMS))
    half = int(CCF_HALF_WIDTH_KMS / CCF_STEP_KMS)
    lags = np.arange(centre_lag - half, centre_lag + half + 1)
    ccf = np.array([_overlap_product(observed, template, lag) for lag in lags])
    peak = int(np.argmax(ccf))
    if peak in (0, ccf.size - 1):
        return None
    left, middle, right = ccf[peak - 1 : peak + 2]
    curvature = left - 2 * middle + right
    offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    return float((lags[peak] + offset) * CCF_STEP_KMS)


def _line_template(grid: np.ndarray, truth: Truth, resolving_power: float) -> np.ndarray:
    """Rest-frame absorption depths on the ln λ grid: Gaussians of the instrument's resolution."""
    template = np.zeros(grid.size)
    sigma = 1.0 / resolving_power / 2.3548
    reach = int(np.ceil(5 * sigma / (grid[1] - grid[0])))
    for line, line_depth in zip(truth.lines_rest_air_angstrom, truth.line_depths):
        position = np.log(line)
        index = int(np.searchsorted(grid, position))
        if reach < index < grid.size - reach:
            window = slice(index - reach, index + reach + 1)
            template[window] += line_depth * np.exp(-0.5 * ((grid[window] - position) / sigma) ** 2)
    return template


def _overlap_product(observed: np.ndarray, template: np.ndarray, lag: int) -> float:
    """Σ observed[i + lag] · template[i] over the overlap (a shift by `lag` grid steps)."""
    if lag >= 0:
        return float(np.dot(observed[lag:], template[: template.size - lag]))
    return float(np.dot(observed[:lag], template[-lag:]))


def saturated_fraction(images: Iterable[np.ndarray], saturation_adu: float) -> float | None:
    """Largest fraction, over the raw images, of pixels at or above saturation."""
    fractions = [float(np.mean(image >= saturation_adu)) for image in images if image.size]
    return max(fractions) if fractions else None
