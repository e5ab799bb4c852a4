"""Assemble a raw UVES file: blue is one image in the primary HDU, red an empty primary + REDU + REDL."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from astropy.io import fits

from tools.simulator.detector import image_hdu, read_out, rotated_shape
from tools.simulator.headers import Exposure, FrameKind, chip_header, primary_header
from tools.simulator.instrument import Arm


def raw_file(
    exposure: Exposure, electrons: Mapping[str, np.ndarray], rng: np.random.Generator
) -> fits.HDUList:
    """The raw file of one exposure, given the expected photo-electrons per chip (rotated frame)."""
    setting = exposure.setting
    cosmics = exposure.kind is not FrameKind.BIAS
    readouts = {
        chip.name: read_out(electrons[chip.name], chip, setting, exposure.exptime_s, rng, cosmics)
        for chip in setting.chips
    }
    header = primary_header(exposure)
    if setting.arm is Arm.BLUE:
        chip = setting.chips[0]
        header.extend(chip_header(exposure, chip, 1), update=True)
        return fits.HDUList([image_hdu(readouts[chip.name], header, primary=True)])
    hdus: list[fits.PrimaryHDU | fits.ImageHDU] = [fits.PrimaryHDU(header=header)]
    for index, chip in enumerate(setting.chips, start=1):
        extension = chip_header(exposure, chip, index)
        extension["EXTNAME"] = (chip.name, "chip read in this extension")
        hdus.append(image_hdu(readouts[chip.name], extension, primary=False))
    return fits.HDUList(hdus)


def no_light(exposure: Exposure) -> dict[str, np.ndarray]:
    """Zero photo-electrons on every chip (biases, and the blank frame the model is run on)."""
    return {chip.name: np.zeros(rotated_shape(chip, exposure.setting)) for chip in exposure.setting.chips}
