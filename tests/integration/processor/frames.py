"""Synthetic UVES bias frames with the minimal keyword set the pipeline's loader accepts
(uves-pipeline.md): uint16 stored with float BSCALE=1.0 / BZERO=32768.0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

PRESCAN = OVERSCAN = 25  # at binning 2


def _common_keywords(header: fits.Header, mjd_obs: float) -> None:
    header["ORIGIN"] = "ESO"
    header["MJD-OBS"] = mjd_obs
    header["EXPTIME"] = 0.0
    for axis in (1, 2):
        header[f"CTYPE{axis}"] = "PIXEL"
        header[f"CRVAL{axis}"] = 1.0
        header[f"CRPIX{axis}"] = 1.0
        header[f"CDELT{axis}"] = 2.0
    header["HIERARCH ESO DET WIN1 BINX"] = 2
    header["HIERARCH ESO DET WIN1 BINY"] = 2
    header["HIERARCH ESO DET READ SPEED"] = "225kHz,1pt,lg"
    header["HIERARCH ESO DET OUT1 PRSCX"] = PRESCAN
    header["HIERARCH ESO DET OUT1 OVSCX"] = OVERSCAN


def _image(rng: np.random.Generator, shape: tuple[int, int], level: float, noise: float) -> fits.ImageHDU:
    data = rng.normal(level, noise, shape) if noise > 0 else np.full(shape, level)
    return np.clip(np.round(data), 0, 65535).astype(np.uint16)


def _scaled(hdu: fits.PrimaryHDU | fits.ImageHDU) -> None:
    # astropy writes an integer BSCALE for uint16 unless told; the UVES loader wants floats.
    hdu.scale("int16", bzero=32768)
    hdu.header["BSCALE"] = 1.0
    hdu.header["BZERO"] = 32768.0


def write_bias(path: Path, arm: str, seed: int, level: float = 180.0, noise: float = 2.5) -> Path:
    """A 2x2-binned bias of one arm: blue one image, red an empty primary and two chips."""
    rng = np.random.default_rng(seed)
    mjd_obs = 60370.77 + seed / 1440
    width = PRESCAN + 1024 + OVERSCAN
    if arm == "blue":
        primary = fits.PrimaryHDU(_image(rng, (1500, width), level, noise))
        _common_keywords(primary.header, mjd_obs)
        _scaled(primary)
        hdus = [primary]
    else:
        primary = fits.PrimaryHDU()
        _common_keywords(primary.header, mjd_obs)
        hdus = [primary]
        for _ in ("REDU", "REDL"):
            chip = fits.ImageHDU(_image(rng, (2048, width), level, noise))
            _common_keywords(chip.header, mjd_obs)
            _scaled(chip)
            hdus.append(chip)
    fits.HDUList(hdus).writeto(path, overwrite=True, output_verify="silentfix")
    return path
