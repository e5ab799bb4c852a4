"""Simulate a GIRAFFE night (MEDUSA fibres): biases, darks, fibre flats, an arc and science frames.

GIRAFFE's static calibrations (grating data, slit geometry, line catalogue) are not public,
so only master bias and master dark can be made for real; the flats, arc and science frames
are here so that classification and association see the mix a real night has. Light is
rendered simply (fibre traces along y, a lamp or sky spectrum along them); the detector is
what the pipeline measures: bias level, read noise, dark current, hot pixels, an amplifier
glow in the corner the pipeline watches (QC GLOW, window x 1350..2048, y 3800..4095) and
cosmic rays. Every frame is fixed by the seed and its place in the night.
"""

from __future__ import annotations

import argparse
import logging
import zlib
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigError
from tools.simulator.detector import COSMIC_RATE_PER_CM2_PER_S, PIXEL_SIZE_CM, SATURATION_ADU, image_hdu
from tools.simulator.giraffe_headers import Detector, GiraffeExposure, GiraffeKind, Setup, giraffe_header
from tools.simulator.output import NightResult, publish, staging_folder

log = logging.getLogger(__name__)

INSTRUMENT = "GIRAFFE"
READOUT_SECONDS = 60.0
FIBRES = 132
FIBRE_SIGMA_PX = 1.6
HOT_PIXELS = 300
GLOW_ELECTRONS_PER_HOUR = 40.0

# Frames per kind: (count, exposure time in seconds).
PRESETS: dict[str, dict[GiraffeKind, tuple[int, float]]] = {
    "demo": {
        GiraffeKind.DARK: (3, 3600.0),
        GiraffeKind.BIAS: (5, 0.0),
        GiraffeKind.FLAT: (3, 25.0),
        GiraffeKind.ARC: (1, 40.0),
        GiraffeKind.SCIENCE: (2, 1800.0),
    },
    "small": {
        GiraffeKind.DARK: (3, 3600.0),
        GiraffeKind.BIAS: (3, 0.0),
        GiraffeKind.FLAT: (1, 25.0),
        GiraffeKind.SCIENCE: (1, 1800.0),
    },
}
# Calibrations start in the afternoon before the night (UTC), science after dark.
CALIBRATIONS_START = time(14, 0)
SCIENCE_START = time(1, 30)
TARGETS = (("NGC 2516 field A", 119.52, -60.75), ("NGC 3293 field B", 158.95, -58.23))


class GiraffeNight(BaseModel):
    model_config = ConfigDict(frozen=True)

    night: date
    seed: int = Field(0, ge=0)
    preset: str = "demo"


def archive_night_folder(root: Path, night: date) -> Path:
    """Where a night lives in the raw archive: ROOT/raw/GIRAFFE/<night>/."""
    return root / "raw" / INSTRUMENT / night.isoformat()


def schedule(plan: GiraffeNight) -> list[GiraffeExposure]:
    """The night's exposures in time order: calibration templates in the afternoon, then science."""
    counts = PRESETS.get(plan.preset)
    if counts is None:
        raise ConfigError(f"unknown GIRAFFE preset {plan.preset!r}: choose one of {', '.join(PRESETS)}")
    exposures: list[GiraffeExposure] = []
    clock = datetime.combine(plan.night, CALIBRATIONS_START)
    for obs_id, (kind, (count, exptime)) in enumerate(counts.items(), start=200_000_000):
        if kind is GiraffeKind.SCIENCE:
            clock = max(clock, datetime.combine(plan.night + timedelta(days=1), SCIENCE_START))
        template = _template(kind, count, exptime, clock, obs_id, len(exposures))
        exposures.extend(template)
        clock = template[-1].start + timedelta(seconds=exptime + READOUT_SECONDS + 120.0)
    return exposures


def _template(kind: GiraffeKind, count: int, exptime: float, start: datetime, obs_id: int,
              done: int) -> list[GiraffeExposure]:
    name, ra, dec = TARGETS[done % len(TARGETS)] if kind is GiraffeKind.SCIENCE else (kind.value.upper(), 0.0, 0.0)
    programme = "112.C-0123(A)" if kind is GiraffeKind.SCIENCE else "60.A-9022(C)"
    step = timedelta(seconds=exptime + READOUT_SECONDS)
    return [
        GiraffeExposure(kind=kind, start=start + index * step, exptime_s=exptime, object_name=name, ra_deg=ra,
                        dec_deg=dec, programme=programme, obs_id=obs_id, template_start=start,
                        template_exposure_number=index + 1, template_exposures=count)
        for index in range(count)
    ]


def simulate_giraffe_night(plan: GiraffeNight, out: Path, detector: Detector | None = None,
                           setup: Setup | None = None) -> NightResult:
    """Render the night into `out`; on any failure nothing is left in `out`."""
    detector, setup = detector or Detector(), setup or Setup()
    names: list[str] = []
    with staging_folder(out) as staging:
        for index, exposure in enumerate(schedule(plan)):
            rng = np.random.default_rng([plan.seed, 19, index])
            raw = read_out(expected_electrons(exposure, detector, rng), exposure, detector, rng)
            header = giraffe_header(exposure, detector, setup)
            fits.HDUList([image_hdu(raw, header, primary=True)]).writeto(staging / exposure.arcfile)
            names.append(exposure.arcfile)
        publish(staging, out)
    log.info("simulated %d GIRAFFE raw frames of night %s into %s", len(names), plan.night, out)
    return NightResult(folder=out, raw_files=names, truth_files=[])


# --- light -----------------------------------------------------------------------------------


def expected_electrons(exposure: GiraffeExposure, detector: Detector, rng: np.random.Generator) -> np.ndarray:
    """Expected photo-electrons per active pixel (rows = y along the dispersion, columns = x)."""
    kind = exposure.kind
    if kind in (GiraffeKind.BIAS, GiraffeKind.DARK):
        return np.zeros((detector.ny, detector.nx))
    across = fibre_profiles(detector)
    if kind is GiraffeKind.FLAT:
        along = 22000.0 * _filter_envelope(detector.ny)
    elif kind is GiraffeKind.ARC:
        along = 30.0 + _emission_lines(detector.ny, _detector_rng(detector, "arc"), 60, (500.0, 30000.0))
    else:
        along = exposure.exptime_s / 1800.0 * (
            400.0 * _filter_envelope(detector.ny) + _emission_lines(detector.ny, _detector_rng(detector, "sky"), 12,
                                                                    (50.0, 2000.0)))
        across = across * rng.uniform(0.05, 1.0, FIBRES)[:, None]
    return np.outer(along, across.sum(axis=0))


def fibre_profiles(detector: Detector) -> np.ndarray:
    """Per fibre (row of the result), its cross-dispersion profile over x, with its transmission."""
    rng = _detector_rng(detector, "fibres")
    centres = np.linspace(30.0, detector.nx - 30.0, FIBRES) + rng.normal(0.0, 0.3, FIBRES)
    transmission = rng.uniform(0.85, 1.0, FIBRES)
    x = np.arange(detector.nx)[None, :]
    profiles = np.exp(-0.5 * ((x - centres[:, None]) / FIBRE_SIGMA_PX) ** 2) / (np.sqrt(2 * np.pi) * FIBRE_SIGMA_PX)
    return profiles * transmission[:, None]


def _filter_envelope(ny: int) -> np.ndarray:
    """The order-sorting filter's transmission along the dispersion: flat top, soft edges."""
    y = np.linspace(-1.0, 1.0, ny)
    return np.exp(-(np.abs(y) / 0.8) ** 8)


def _emission_lines(ny: int, rng: np.random.Generator, count: int, peaks: tuple[float, float]) -> np.ndarray:
    y = np.arange(ny)[:, None]
    positions = rng.uniform(20.0, ny - 20.0, count)
    heights = np.exp(rng.uniform(np.log(peaks[0]), np.log(peaks[1]), count))
    return (heights * np.exp(-0.5 * ((y - positions) / 2.2) ** 2)).sum(axis=1)


# --- detector --------------------------------------------------------------------------------


def read_out(electrons: np.ndarray, exposure: GiraffeExposure, detector: Detector,
             rng: np.random.Generator) -> np.ndarray:
    """Expected photo-electrons → raw uint16 frame with prescan and overscan columns."""
    signal = electrons + thermal_electrons(detector, exposure.exptime_s)
    counted = rng.poisson(np.clip(signal, 0.0, None)).astype(np.float64)
    if exposure.kind is not GiraffeKind.BIAS:
        _add_cosmic_rays(counted, exposure.exptime_s, rng)
    frame = np.zeros((detector.ny, detector.raw_nx))
    frame[:, detector.prescan : detector.prescan + detector.nx] = counted / detector.conad_electrons_per_adu
    frame += bias_structure(detector)
    frame += rng.normal(0.0, detector.read_noise_electrons / detector.conad_electrons_per_adu, frame.shape)
    return np.clip(np.rint(frame), 0, SATURATION_ADU).astype(np.uint16)


def thermal_electrons(detector: Detector, exptime_s: float) -> np.ndarray:
    """Dark current, hot pixels and the amplifier glow; hot pixels also fill while the chip is read."""
    hours = exptime_s / 3600.0
    thermal = np.full((detector.ny, detector.nx), detector.dark_electrons_per_hour * hours)
    rows, columns, rates = hot_pixels(detector)
    thermal[rows, columns] += rates * (hours + READOUT_SECONDS / 3600.0)
    thermal += glow_electrons_per_hour(detector) * hours
    return thermal


def hot_pixels(detector: Detector) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and rates (e-/h) of the chip's hot pixels: the same every night."""
    rng = _detector_rng(detector, "hot")
    rows = rng.integers(0, detector.ny, HOT_PIXELS)
    columns = rng.integers(0, detector.nx, HOT_PIXELS)
    rates = np.exp(rng.uniform(np.log(50.0), np.log(20000.0), HOT_PIXELS))
    return rows, columns, rates


def glow_electrons_per_hour(detector: Detector) -> np.ndarray:
    """Amplifier glow: falls off from the output corner (high x, high y)."""
    y = np.arange(detector.ny)[:, None]
    x = np.arange(detector.nx)[None, :]
    distance = np.hypot(detector.nx - 1 - x, detector.ny - 1 - y)
    return GLOW_ELECTRONS_PER_HOUR * np.exp(-distance / 120.0)


def bias_structure(detector: Detector) -> np.ndarray:
    """Bias level with a gentle gradient along y and a faint fixed column pattern (ADU)."""
    rng = _detector_rng(detector, "bias")
    rows = np.linspace(-1.0, 1.0, detector.ny)[:, None]
    column_pattern = 0.2 * rng.standard_normal(detector.raw_nx)[None, :]
    return detector.bias_level_adu + 1.2 * rows + column_pattern


def _add_cosmic_rays(image: np.ndarray, exptime_s: float, rng: np.random.Generator) -> None:
    area_cm2 = image.size * PIXEL_SIZE_CM**2
    count = rng.poisson(COSMIC_RATE_PER_CM2_PER_S * area_cm2 * exptime_s)
    rows = rng.integers(0, image.shape[0] - 1, count)
    columns = rng.integers(0, image.shape[1] - 1, count)
    charge = rng.uniform(1000.0, 12000.0, count)
    image[rows, columns] += charge
    image[rows + 1, columns] += 0.4 * charge


def _detector_rng(detector: Detector, purpose: str) -> np.random.Generator:
    """A generator that depends only on the chip and purpose: defects and fibres do not change nightly."""
    return np.random.default_rng(zlib.crc32(f"{detector.chip_id}:{purpose}".encode()))


def simulate_from_arguments(args: argparse.Namespace, night: date) -> int:
    """`phoenix simulate GIRAFFE ...`: the UVES-only options are refused, not ignored."""
    given = [f"--{name}" for name in ("binning", "arms", "settings", "targets") if getattr(args, name) is not None]
    if given:
        raise ConfigError(f"{', '.join(given)}: UVES-only option; GIRAFFE nights take --preset and --seed")
    plan = GiraffeNight(night=night, seed=args.seed, preset=args.preset)
    out = archive_night_folder(args.into_archive, night) if args.into_archive else args.out
    result = simulate_giraffe_night(plan, out)
    print(f"{len(result.raw_files)} raw frames in {result.folder}")
    return 0
