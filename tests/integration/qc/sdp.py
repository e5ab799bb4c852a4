"""A minimal ESO SDP 1D spectrum (WAVE/FLUX/ERR/QUAL, one row) from uves_obs_scired's merged products.

The processor will write the real SDP products; QC only needs the table, so the tests make one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits


def write_sdp(merged: Path, errorbar: Path, target: Path) -> Path:
    with fits.open(merged) as hdul:
        flux = np.asarray(hdul[0].data, dtype=float)
        header = hdul[0].header
    error = np.asarray(fits.getdata(errorbar), dtype=float)
    wave = header["CRVAL1"] + (np.arange(flux.size) + 1.0 - header["CRPIX1"]) * header["CDELT1"]
    if wave.max() > 2000.0:
        wave = wave / 10.0
    quality = np.where((error > 0) & np.isfinite(flux), 0, 1).astype(np.int32)
    primary = fits.PrimaryHDU()
    primary.header["PRODCATG"] = "SCIENCE.SPECTRUM"
    primary.header["SPEC_RES"] = 40000.0
    for key in ("HIERARCH ESO INS GRAT1 WLEN", "HIERARCH ESO INS GRAT2 WLEN", "OBJECT"):
        if key in header:
            primary.header[key] = header[key]
    n = flux.size
    table = fits.BinTableHDU.from_columns([
        fits.Column(name="WAVE", format=f"{n}D", unit="nm", array=wave[None, :]),
        fits.Column(name="FLUX", format=f"{n}E", array=flux[None, :]),
        fits.Column(name="ERR", format=f"{n}E", array=error[None, :]),
        fits.Column(name="QUAL", format=f"{n}J", array=quality[None, :]),
    ], name="SPECTRUM")
    fits.HDUList([primary, table]).writeto(target, overwrite=True)
    return target
