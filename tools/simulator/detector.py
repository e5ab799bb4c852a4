"""From photo-electrons on the chip to the 16-bit numbers a UVES raw file holds.

Light is rendered in the pipeline's "rotated" frame (X along the dispersion, Y across the
orders, binned pixels), the frame in which the physical model predicts positions; here it is
turned back into the raw readout orientation, and detector effects are added: pixel
response, dark current, hot columns, cosmic rays, Poisson and read noise, bias level and
structure in pre/overscan and image area, saturation at 65535.
"""

from __future__ import annotations

import zlib

import numpy as np
from astropy.io import fits

from tools.simulator.instrument import Arm, Chip, Setting

SATURATION_ADU = 65535
READOUT_SECONDS = 40.0
# Cosmic rays: the sea-level muon flux is about 1 per cm² per minute (PDG, "Cosmic rays"),
# some 1.5 times more at Paranal's 2,600 m, with the detector's own radioactivity on top.
COSMIC_RATE_PER_CM2_PER_S = 0.025
PIXEL_SIZE_CM = 15e-4
PIXEL_SIZE_UM = 15.0
# A muon crosses the depleted silicon (thinned CCDs: about 20 µm) at a zenith angle drawn from
# the cos²θ law; it leaves about 80 electrons per µm of path (minimum ionising, Landau tail
# as a log-normal), spread by charge diffusion over neighbouring pixels.
DEPLETION_DEPTH_UM = 20.0
ELECTRONS_PER_UM = 80.0
LANDAU_SPREAD = 0.5
DIFFUSION_SIGMA_PX = 0.4
CHARGE_PACKETS_PER_PX = 16
MAX_TRACK_PX = 40.0
HOT_COLUMNS_PER_CHIP = 4
PIXEL_RESPONSE_RMS = 0.01


def rotated_shape(chip: Chip, setting: Setting) -> tuple[int, int]:
    """(rows, columns) = (Y, X) of the rotated, cropped, binned frame the model describes."""
    return chip.nx // setting.binx, chip.ny // setting.biny


def raw_from_rotated(rotated: np.ndarray, arm: Arm) -> np.ndarray:
    """Cropped raw image (rows = raw y, columns = raw x) from a rotated-frame image.

    Blue: X_rot = Ny − y_raw + 1, Y_rot = x_c. Red: the same X, Y_rot = Nx − x_c + 1.
    """
    flipped = rotated.T[::-1, :]
    return flipped[:, ::-1] if arm is Arm.RED else flipped


def rotated_from_raw(raw: np.ndarray, arm: Arm) -> np.ndarray:
    """Inverse of `raw_from_rotated` (for tests and checks)."""
    image = raw[:, ::-1] if arm is Arm.RED else raw
    return image[::-1, :].T


def read_out(
    electrons_rotated: np.ndarray,
    chip: Chip,
    setting: Setting,
    exptime_s: float,
    rng: np.random.Generator,
    cosmics: bool = True,
) -> np.ndarray:
    """Expected photo-electrons per binned pixel (rotated frame) → raw uint16 readout with overscans."""
    signal = raw_from_rotated(electrons_rotated, setting.arm) * pixel_response(chip, setting)
    signal = signal + _thermal_electrons(chip, setting, exptime_s)
    counted = rng.poisson(np.clip(signal, 0.0, None)).astype(np.float64)
    if cosmics and exptime_s > 0:
        _add_cosmic_rays(counted, chip, setting, exptime_s, rng)
    adu = counted * chip.gain_adu_per_electron
    prescan = chip.prescan // setting.binx
    overscan = chip.overscan // setting.binx
    frame = np.zeros((adu.shape[0], prescan + adu.shape[1] + overscan))
    frame[:, prescan : prescan + adu.shape[1]] = adu
    frame += bias_structure(chip, setting, frame.shape)
    frame += rng.normal(0.0, chip.read_noise_electrons * chip.gain_adu_per_electron, frame.shape)
    return np.clip(np.rint(frame), 0, SATURATION_ADU).astype(np.uint16)


def image_hdu(data: np.ndarray, header: fits.Header, primary: bool) -> fits.PrimaryHDU | fits.ImageHDU:
    """Store uint16 as the instrument does: BITPIX 16 with float BSCALE 1.0 and BZERO 32768.0."""
    stored = (data.astype(np.int32) - 32768).astype(np.int16)
    hdu_class = fits.PrimaryHDU if primary else fits.ImageHDU
    hdu = hdu_class(data=stored, header=header, do_not_scale_image_data=True)
    # Float values on purpose: the UVES loader rejects an integer-typed BSCALE.
    hdu.header.set("BSCALE", 1.0, "real = stored * BSCALE + BZERO")
    hdu.header.set("BZERO", 32768.0, "unsigned 16-bit data")
    return hdu


def pixel_response(chip: Chip, setting: Setting) -> np.ndarray:
    """Fixed pixel-to-pixel sensitivity (PIXEL_RESPONSE_RMS) of a chip, the same every night."""
    rng = _chip_rng(chip, "prnu")
    ny, nx = chip.ny // setting.biny, chip.nx // setting.binx
    return 1.0 + PIXEL_RESPONSE_RMS * rng.standard_normal((ny, nx))


def bias_structure(chip: Chip, setting: Setting, shape: tuple[int, int]) -> np.ndarray:
    """Bias level with a gentle gradient along columns and a faint fixed row pattern (ADU)."""
    rng = _chip_rng(chip, "bias")
    rows = np.linspace(-1.0, 1.0, shape[0])[:, None]
    cols = np.linspace(-1.0, 1.0, shape[1])[None, :]
    row_pattern = 0.3 * rng.standard_normal(shape[0])[:, None]
    return chip.bias_level_adu + 1.5 * rows + 0.8 * cols**2 + row_pattern


def hot_columns(chip: Chip, setting: Setting) -> tuple[np.ndarray, np.ndarray]:
    """Columns (cropped, binned raw x) with extra dark current, and their rates (e-/s)."""
    rng = _chip_rng(chip, "hot")
    columns = rng.choice(chip.nx // setting.binx, size=HOT_COLUMNS_PER_CHIP, replace=False)
    rates = rng.uniform(0.5, 5.0, HOT_COLUMNS_PER_CHIP) * setting.binx * setting.biny
    return columns, rates


def _thermal_electrons(chip: Chip, setting: Setting, exptime_s: float) -> np.ndarray:
    ny, nx = chip.ny // setting.biny, chip.nx // setting.binx
    per_pixel = chip.dark_electrons_per_hour / 3600.0 * exptime_s * setting.binx * setting.biny
    thermal = np.full((ny, nx), per_pixel)
    columns, rates = hot_columns(chip, setting)
    # Hot columns also collect charge while the chip is read, so they show in biases too.
    thermal[:, columns] += rates * (exptime_s + READOUT_SECONDS)
    return thermal


def _add_cosmic_rays(
    image: np.ndarray, chip: Chip, setting: Setting, exptime_s: float, rng: np.random.Generator
) -> None:
    """Muon tracks (electrons) in the raw-oriented, binned image: straight, a few pixels long, diffused."""
    area_cm2 = chip.nx * chip.ny * PIXEL_SIZE_CM**2
    count = rng.poisson(COSMIC_RATE_PER_CM2_PER_S * area_cm2 * exptime_s)
    if count == 0:
        return
    ny, nx = image.shape[0] * setting.biny, image.shape[1] * setting.binx
    zenith = np.arccos(rng.uniform(0.0, 1.0, count) ** (1.0 / 3.0))  # cos²θ per solid angle, flat detector
    length_px = np.minimum(DEPLETION_DEPTH_UM * np.tan(zenith) / PIXEL_SIZE_UM, MAX_TRACK_PX)
    path_um = DEPLETION_DEPTH_UM / np.cos(
        np.minimum(zenith, np.arctan(MAX_TRACK_PX * PIXEL_SIZE_UM / DEPLETION_DEPTH_UM))
    )
    charge = ELECTRONS_PER_UM * path_um * rng.lognormal(0.0, LANDAU_SPREAD, count)
    packets = np.maximum((length_px * CHARGE_PACKETS_PER_PX).astype(int), CHARGE_PACKETS_PER_PX)
    event = np.repeat(np.arange(count), packets)
    along = rng.uniform(0.0, 1.0, event.size) * length_px[event]
    azimuth = rng.uniform(0.0, 2.0 * np.pi, count)[event]
    y = rng.uniform(0, ny, count)[event] + along * np.sin(azimuth) + rng.normal(0, DIFFUSION_SIGMA_PX, event.size)
    x = rng.uniform(0, nx, count)[event] + along * np.cos(azimuth) + rng.normal(0, DIFFUSION_SIGMA_PX, event.size)
    inside = (y >= 0) & (y < ny) & (x >= 0) & (x < nx)
    rows = (y[inside] // setting.biny).astype(int)
    cols = (x[inside] // setting.binx).astype(int)
    np.add.at(image, (rows, cols), (charge / packets)[event[inside]])


def _chip_rng(chip: Chip, purpose: str) -> np.random.Generator:
    """A generator that depends only on the chip and purpose: detector defects do not change nightly."""
    return np.random.default_rng(zlib.crc32(f"{chip.name}:{chip.chip_id}:{purpose}".encode()))
