"""Small synthetic UVES-like FITS files (a few KB) for the archive tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from shared.rawarchive.models import HeaderValue

FITS_BLOCK = 2880


def uves_cards(arcfile: str, **overrides: HeaderValue) -> dict[str, HeaderValue]:
    """Primary-header cards of a blue-arm bias; `overrides` use dotted ESO names (`DPR.TYPE`)."""
    cards: dict[str, HeaderValue] = {
        "INSTRUME": "UVES",
        "ARCFILE": arcfile,
        "MJD-OBS": 60370.9612,
        "DATE-OBS": "2024-03-01T23:04:07.680",
        "EXPTIME": 0.0,
        "OBJECT": "BIAS",
        "RA": 0.0,
        "DEC": -24.6,
        "DPR.CATG": "CALIB",
        "DPR.TYPE": "BIAS",
        "DPR.TECH": "IMAGE",
        "DET.CHIPS": 1,
        "DET.WIN1.BINX": 1,
        "DET.WIN1.BINY": 1,
        "DET.READ.SPEED": "50kHz/2pts/high",
        "INS.PATH": "BLUE",
        "INS.GRAT1.WLEN": 390.0,
    }
    cards.update(overrides)
    return cards


def fits_header(cards: dict[str, HeaderValue]) -> fits.Header:
    header = fits.Header()
    for key, value in cards.items():
        header[f"HIERARCH ESO {key.replace('.', ' ')}" if "." in key else key] = value
    return header


def write_fits(
    path: Path,
    cards: dict[str, HeaderValue],
    chips: tuple[str, ...] = (),
    pixels: int = 16,
) -> Path:
    """A primary image, or an empty primary plus one image extension per chip name."""
    data = np.arange(pixels * pixels, dtype=np.int16).reshape(pixels, pixels)
    header = fits_header(cards)
    if chips:
        hdus = [fits.PrimaryHDU(header=header)]
        for number, chip in enumerate(chips, start=1):
            extension = fits.ImageHDU(data + number, name=f"CHIP{number}")
            extension.header["HIERARCH ESO DET CHIP NAME"] = chip
            hdus.append(extension)
    else:
        hdus = [fits.PrimaryHDU(data, header=header)]
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path)
    return path


def write_raw(root: Path, night: str, arcfile: str, chips: tuple[str, ...] = (), **overrides: HeaderValue) -> Path:
    return write_fits(root / "raw" / "UVES" / night / arcfile, uves_cards(arcfile, **overrides), chips)


def write_master(path: Path, pro_catg: str, mjd_obs: float = 60371.2, seed: int = 0, **overrides: HeaderValue) -> Path:
    """A master calibration; `seed` changes the pixels so two masters differ in content."""
    cards = uves_cards(path.name, **overrides)
    cards.update({"PRO.CATG": pro_catg, "MJD-OBS": mjd_obs, "OBJECT": pro_catg, "SEED": seed})
    return write_fits(path, cards)
