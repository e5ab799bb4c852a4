"""Synthetic UVES bias frames with the minimal keyword set the pipeline's loader accepts
(uves-pipeline.md): uint16 stored with float BSCALE=1.0 / BZERO=32768.0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

PRESCAN = OVERSCAN = 50  # unbinned pixels


def _common_keywords(header: fits.Header, mjd_obs: float, binning: int) -> None:
    header["ORIGIN"] = "ESO"
    header["MJD-OBS"] = mjd_obs
    header["EXPTIME"] = 0.0
    for axis in (1, 2):
        header[f"CTYPE{axis}"] = "PIXEL"
        header[f"CRVAL{axis}"] = 1.0
        header[f"CRPIX{axis}"] = 1.0
        header[f"CDELT{axis}"] = float(binning)
    header["HIERARCH ESO DET WIN1 BINX"] = binning
    header["HIERARCH ESO DET WIN1 BINY"] = binning
    header["HIERARCH ESO DET READ SPEED"] = "225kHz,1pt,lg"
    header["HIERARCH ESO DET OUT1 PRSCX"] = PRESCAN // binning
    header["HIERARCH ESO DET OUT1 OVSCX"] = OVERSCAN // binning


def _image(rng: np.random.Generator, shape: tuple[int, int], level: float, noise: float) -> np.ndarray:
    data = rng.normal(level, noise, shape) if noise > 0 else np.full(shape, level)
    return np.clip(np.round(data), 0, 65535).astype(np.uint16)


def _scaled(hdu: fits.PrimaryHDU | fits.ImageHDU) -> None:
    # astropy writes an integer BSCALE for uint16 unless told; the UVES loader wants floats.
    hdu.scale("int16", bzero=32768)
    hdu.header["BSCALE"] = 1.0
    hdu.header["BZERO"] = 32768.0


def write_bias(
    path: Path, arm: str, seed: int, level: float = 180.0, noise: float = 2.5, binning: int = 2
) -> Path:
    """A bias of one arm: blue one image, red an empty primary and two chips."""
    rng = np.random.default_rng(seed)
    mjd_obs = 60370.77 + seed / 1440
    width = (PRESCAN + 2048 + OVERSCAN) // binning
    if arm == "blue":
        primary = fits.PrimaryHDU(_image(rng, (3000 // binning, width), level, noise))
        _common_keywords(primary.header, mjd_obs, binning)
        _scaled(primary)
        hdus = [primary]
    else:
        primary = fits.PrimaryHDU()
        _common_keywords(primary.header, mjd_obs, binning)
        hdus = [primary]
        for _ in ("REDU", "REDL"):
            chip = fits.ImageHDU(_image(rng, (4096 // binning, width), level, noise))
            _common_keywords(chip.header, mjd_obs, binning)
            _scaled(chip)
            hdus.append(chip)
    fits.HDUList(hdus).writeto(path, overwrite=True, output_verify="silentfix")
    return path
