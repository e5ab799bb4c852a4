"""ESO headers of simulated GIRAFFE raw frames (FLAMES/GIRAFFE on VLT UT2, MEDUSA fibres).

DPR values are the ones ESO's own classification rules (gasgano/config/giraf.oca of
cpl-plugin-giraf) match: BIAS and DARK (TECH IMAGE), FIBER_FLAT and ARC_SPECTRUM (lamp
frames, TECH MOS), SCIENCE (OBJECT, TECH MOS). The detector keywords are the ones
gimasterbias/gimasterdark read (DET OUT1 PRSCX/OVSCX/CONAD/RON, DET WIN1 NX/NY, DET CHIP1
PSZX/PSZY) and the ones giraf.oca matches calibrations on (DET CHIP1 ID, DET WIN1 BINX/BINY,
DET READ CLOCK/MODE/SPEED; INS SLIT NAME, INS EXP MODE, INS GRAT ID for fibre set-ups).
Values are of the kind the instrument writes, not copied from a real header.
"""

from __future__ import annotations

from enum import StrEnum

from astropy.io import fits
from pydantic import BaseModel, ConfigDict, Field

from tools.simulator.observation import Dpr, Observation, add_pointing, add_programme, add_site, add_template


class GiraffeKind(StrEnum):
    BIAS = "bias"
    DARK = "dark"
    FLAT = "flat"
    ARC = "arc"
    SCIENCE = "science"


# (DPR CATG, DPR TYPE, DPR TECH, template) per kind, as giraf.oca classifies them.
DPR: dict[GiraffeKind, Dpr] = {
    GiraffeKind.BIAS: ("CALIB", "BIAS", "IMAGE", "GIRAF_gen_cal_Bias"),
    GiraffeKind.DARK: ("CALIB", "DARK", "IMAGE", "GIRAF_gen_cal_Dark"),
    GiraffeKind.FLAT: ("CALIB", "FLAT,LAMP", "MOS", "GIRAF_spec_cal_Flat"),
    GiraffeKind.ARC: ("CALIB", "WAVE,LAMP", "MOS", "GIRAF_spec_cal_Wave"),
    GiraffeKind.SCIENCE: ("SCIENCE", "OBJECT", "MOS", "FLAMES_gir_obs_exp"),
}
LAMP: dict[GiraffeKind, str] = {GiraffeKind.FLAT: "Halogen", GiraffeKind.ARC: "ThAr"}


class Detector(BaseModel):
    """The GIRAFFE CCD (EEV 2k x 4k, 15 µm) and how it is read: one output, pre- and overscan in x."""

    model_config = ConfigDict(frozen=True)

    chip_id: str = "EEV CCD-44"
    chip_name: str = "EEV44-82"
    nx: int = Field(2048, description="active columns")
    ny: int = Field(4096, description="active rows")
    prescan: int = Field(50, description="prescan columns (the pipeline's bias areas are at x 5..40)")
    overscan: int = Field(50, description="overscan columns")
    conad_electrons_per_adu: float = 0.56
    read_noise_electrons: float = 3.6
    bias_level_adu: float = 218.0
    dark_electrons_per_hour: float = 0.6
    read_clock: str = "225kHz,1port,Low_gain"
    read_mode: str = "normal"
    read_speed: str = "normal"

    @property
    def raw_nx(self) -> int:
        return self.prescan + self.nx + self.overscan


class Setup(BaseModel):
    """The fibre system, grating and order-sorting filter of the spectroscopic frames."""

    model_config = ConfigDict(frozen=True)

    slit_name: str = "Medusa1"
    exp_mode: str = "H665.0"
    grating: str = "HR"
    filter_name: str = "HR15n"
    wlen_nm: float = 665.0


class GiraffeExposure(Observation):
    """One raw frame: kind, timing, target, and the template it belongs to."""

    kind: GiraffeKind

    @property
    def arcfile(self) -> str:
        return f"GIRAF.{self.start.isoformat(timespec='milliseconds')}.fits"


def giraffe_header(exposure: GiraffeExposure, detector: Detector, setup: Setup) -> fits.Header:
    """The primary header of a GIRAFFE raw frame (one image, in the primary HDU)."""
    header = fits.Header()
    _add_observation(header, exposure)
    add_site(header)
    _add_instrument(header, exposure, setup)
    _add_detector(header, exposure, detector)
    return header


def _add_observation(header: fits.Header, exposure: GiraffeExposure) -> None:
    dpr = DPR[exposure.kind]
    catg, template = dpr[0], dpr[3]
    add_pointing(header, exposure, "GIRAFFE")
    header["ARCFILE"] = (exposure.arcfile, "archive file name")
    header["ORIGFILE"] = (f"GIRAF_{exposure.kind.value.upper()}_{exposure.start:%j_%H%M%S}.fits", "original file name")
    add_programme(header, exposure, "Calibration" if catg == "CALIB" else exposure.object_name)
    add_template(header, exposure, template, template.replace("_", " "), dpr)


def _add_instrument(header: fits.Header, exposure: GiraffeExposure, setup: Setup) -> None:
    spectroscopic = exposure.kind not in (GiraffeKind.BIAS, GiraffeKind.DARK)
    header["HIERARCH ESO INS MODE"] = ("MOS" if spectroscopic else "IMAGE", "instrument mode used")
    header["HIERARCH ESO INS SLIT NAME"] = (setup.slit_name if spectroscopic else "", "fibre system (slit) name")
    header["HIERARCH ESO INS EXP MODE"] = (setup.exp_mode, "exposure mode (grating set-up)")
    header["HIERARCH ESO INS GRAT ID"] = (setup.grating, "grating ID")
    header["HIERARCH ESO INS GRAT NAME"] = (setup.grating, "grating name")
    header["HIERARCH ESO INS GRAT WLEN"] = (setup.wlen_nm, "grating central wavelength [nm]")
    header["HIERARCH ESO INS FILT NAME"] = (setup.filter_name, "order-sorting filter name")
    lamp = LAMP.get(exposure.kind)
    header["HIERARCH ESO INS LAMP1 NAME"] = (lamp or "", "lamp name")
    header["HIERARCH ESO INS LAMP1 ST"] = (lamp is not None, "lamp on")
    header["HIERARCH ESO INS SHUT ST"] = (exposure.kind is not GiraffeKind.BIAS, "shutter open")


def _add_detector(header: fits.Header, exposure: GiraffeExposure, detector: Detector) -> None:
    header["HIERARCH ESO DET ID"] = ("CCD FIERA - Rev: 3.9", "detector system ID")
    header["HIERARCH ESO DET NAME"] = ("giraffe - ccdGir", "detector name")
    header["HIERARCH ESO DET CHIPS"] = (1, "number of chips")
    header["HIERARCH ESO DET OUTPUTS"] = (1, "number of outputs")
    header["HIERARCH ESO DET READ CLOCK"] = (detector.read_clock, "readout clock pattern")
    header["HIERARCH ESO DET READ MODE"] = (detector.read_mode, "readout method")
    header["HIERARCH ESO DET READ SPEED"] = (detector.read_speed, "readout speed")
    header["HIERARCH ESO DET WIN1 STRX"] = (1, "lower left pixel in x")
    header["HIERARCH ESO DET WIN1 STRY"] = (1, "lower left pixel in y")
    header["HIERARCH ESO DET WIN1 NX"] = (detector.raw_nx, "pixels along x, pre- and overscan included")
    header["HIERARCH ESO DET WIN1 NY"] = (detector.ny, "pixels along y")
    header["HIERARCH ESO DET WIN1 BINX"] = (1, "binning factor along x")
    header["HIERARCH ESO DET WIN1 BINY"] = (1, "binning factor along y")
    header["HIERARCH ESO DET WIN1 DIT1"] = (exposure.exptime_s, "actual integration time")
    header["HIERARCH ESO DET CHIP1 ID"] = (detector.chip_id, "detector chip identification")
    header["HIERARCH ESO DET CHIP1 NAME"] = (detector.chip_name, "detector chip name")
    header["HIERARCH ESO DET CHIP1 NX"] = (detector.nx, "physical active pixels in x")
    header["HIERARCH ESO DET CHIP1 NY"] = (detector.ny, "physical active pixels in y")
    header["HIERARCH ESO DET CHIP1 PSZX"] = (15.0, "pixel size in x [um]")
    header["HIERARCH ESO DET CHIP1 PSZY"] = (15.0, "pixel size in y [um]")
    header["HIERARCH ESO DET OUT1 ID"] = ("L", "output identification")
    header["HIERARCH ESO DET OUT1 NX"] = (detector.nx, "valid pixels along x")
    header["HIERARCH ESO DET OUT1 NY"] = (detector.ny, "valid pixels along y")
    header["HIERARCH ESO DET OUT1 PRSCX"] = (detector.prescan, "prescan region in x")
    header["HIERARCH ESO DET OUT1 PRSCY"] = (0, "prescan region in y")
    header["HIERARCH ESO DET OUT1 OVSCX"] = (detector.overscan, "overscan region in x")
    header["HIERARCH ESO DET OUT1 OVSCY"] = (0, "overscan region in y")
    header["HIERARCH ESO DET OUT1 CONAD"] = (detector.conad_electrons_per_adu, "conversion from ADU to electrons")
    header["HIERARCH ESO DET OUT1 GAIN"] = (round(1.0 / detector.conad_electrons_per_adu, 4), "conversion from electrons to ADU")
    header["HIERARCH ESO DET OUT1 RON"] = (detector.read_noise_electrons, "readout noise per output (e-)")
