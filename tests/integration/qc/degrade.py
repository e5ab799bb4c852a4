"""Deliberately bad raw frames derived from simulated ones: an underexposed flat, a saturated science frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

SATURATION_ADU = 65535


def scale_signal(source: Path, target: Path, factor: float) -> Path:
    """Multiply the light above each image's bias level by `factor`, clip at saturation, keep the raw format."""
    with fits.open(source, do_not_scale_image_data=True) as hdul:
        for hdu in hdul:
            if hdu.data is None:
                continue
            adu = hdu.data.astype(np.float64) + hdu.header["BZERO"]
            bias = float(np.median(adu[:, :10]))
            scaled = np.clip(np.rint(bias + (adu - bias) * factor), 0, SATURATION_ADU)
            hdu.data = (scaled - 32768).astype(np.int16)
        hdul.writeto(target, overwrite=True)
    return target


def degraded_night(good: Path, bad: Path, dpr_type: str, chips: int, factor: float) -> list[Path]:
    """A copy of a night in which every frame of `dpr_type` on the arm with `chips` chips is rescaled."""
    bad.mkdir(parents=True, exist_ok=True)
    changed = []
    for path in sorted(good.iterdir()):
        target = bad / path.name
        header = fits.getheader(path) if path.suffix == ".fits" else None
        if header is not None and header.get("HIERARCH ESO DPR TYPE") == dpr_type and header.get("HIERARCH ESO DET CHIPS") == chips:
            changed.append(scale_signal(path, target, factor))
        elif not target.exists():
            target.symlink_to(path)
    return changed
