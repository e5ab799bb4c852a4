"""ESO headers of simulated UVES raw frames, with the keyword values the real instrument writes.

DPR values are the ones ESO's own classification rules (gasgano/config/uves.oca) match, so the
frames classify as BIAS_BLUE, ARC_LAMP_FORM_RED, SCI_POINT_BLUE and so on.
"""

from __future__ import annotations

import math
from enum import StrEnum

from astropy.io import fits
from astropy.time import Time

from tools.simulator.instrument import Arm, Chip, Setting
from tools.simulator.observation import (
    PARANAL_LONGITUDE_DEG,
    Dpr,
    Observation,
    add_pointing,
    add_programme,
    add_site,
    add_template,
)

# Values as real UVES raw frames carry them (seen in the headers of ESO's real UVES products,
# ../shared/reference/eso-real/mnlup_r.*: they keep the raw frame's keywords).
READ_SPEED = "1pt/225kHz/lg"
"""DET.READ.SPEED: real frames write `<ports>pt/<pixel rate>/<gain>` ('1pt/50kHz/hg'); 225 kHz, low
gain here, the read mode of the real arcs whose gains and read noise the simulated chips carry."""
READ_CLOCK = "225kHz/1port/low_gain"
CAMERA_TEMPERATURES_C = {1: 13.7, 2: 13.4, 31: 15.1}
"""INS.TEMPi.MEAN the pipeline reads: blue camera, red camera, iodine cell; real frames carry all three."""


class FrameKind(StrEnum):
    BIAS = "bias"
    FORMAT_CHECK = "fmtchk"
    ORDER_DEFINITION = "orderdef"
    FLAT = "flat"
    WAVE = "wave"
    SCIENCE = "science"


# (DPR CATG, DPR TYPE, DPR TECH, template name part) per kind.
DPR: dict[FrameKind, Dpr] = {
    FrameKind.BIAS: ("CALIB", "BIAS", "IMAGE", "cal_bias"),
    FrameKind.FORMAT_CHECK: ("CALIB", "LAMP,FMTCHK", "ECHELLE", "cal_fmtchk"),
    FrameKind.ORDER_DEFINITION: ("CALIB", "LAMP,ORDERDEF", "ECHELLE", "cal_orderdef"),
    FrameKind.FLAT: ("CALIB", "LAMP,FLAT", "ECHELLE", "cal_flatfree"),
    FrameKind.WAVE: ("CALIB", "LAMP,WAVE", "ECHELLE", "cal_wave"),
    FrameKind.SCIENCE: ("SCIENCE", "OBJECT,POINT", "ECHELLE", "obs_exp"),
}

# Slit per arm: (slit unit number, length arcsec, pixel scale arcsec/px, its camera's temperature sensor).
SLIT: dict[Arm, tuple[int, float, float, int]] = {
    Arm.BLUE: (2, 8.0, 0.215, 1),
    Arm.RED: (3, 12.0, 0.155, 2),
}
LAMP_NAME: dict[FrameKind, str] = {
    FrameKind.FORMAT_CHECK: "ThAr",
    FrameKind.WAVE: "ThAr",
    FrameKind.ORDER_DEFINITION: "Tungsten",
    FrameKind.FLAT: "Tungsten",
}


class Exposure(Observation):
    """What one raw frame is: kind, setting, timing, target and the OB/template it belongs to."""

    kind: FrameKind
    setting: Setting
    slit_width_arcsec: float = 1.0
    airmass: float = 1.0
    seeing_arcsec: float = 0.8

    @property
    def arcfile(self) -> str:
        return f"UVES.{self.start.isoformat(timespec='milliseconds')}.fits"


def primary_header(exposure: Exposure) -> fits.Header:
    """The primary header: everything but the per-chip image keywords."""
    header = fits.Header()
    _add_observation(header, exposure)
    _add_telescope(header, exposure)
    _add_instrument(header, exposure)
    _add_detector(header, exposure)
    return header


def chip_header(exposure: Exposure, chip: Chip, index: int) -> fits.Header:
    """Image keywords of one chip: `index` is 1 for the chip read as CHIP1/OUT1 and 2 for CHIP2."""
    setting = exposure.setting
    header = fits.Header()
    for axis, binning in ((1, setting.binx), (2, setting.biny)):
        header[f"CTYPE{axis}"] = ("PIXEL", "pixel coordinate")
        header[f"CRVAL{axis}"] = 1.0
        header[f"CRPIX{axis}"] = 1.0
        header[f"CDELT{axis}"] = float(binning)
    header[f"HIERARCH ESO DET CHIP{index} ID"] = (chip.chip_id, "detector chip identification")
    header[f"HIERARCH ESO DET CHIP{index} NAME"] = (chip.chip_name, "detector chip name")
    header[f"HIERARCH ESO DET CHIP{index} NX"] = (chip.nx, "physical active pixels in x")
    header[f"HIERARCH ESO DET CHIP{index} NY"] = (chip.ny, "physical active pixels in y")
    header[f"HIERARCH ESO DET CHIP{index} PSZX"] = (15.0, "pixel size in x [um]")
    header[f"HIERARCH ESO DET CHIP{index} PSZY"] = (15.0, "pixel size in y [um]")
    _add_output(header, chip, setting, 1)
    return header


def _add_output(header: fits.Header, chip: Chip, setting: Setting, output: int) -> None:
    prefix = f"HIERARCH ESO DET OUT{output}"
    header[f"{prefix} ID"] = ("L", "output identification")
    header[f"{prefix} CHIP"] = (1, "chip to which the output belongs")
    header[f"{prefix} NX"] = (chip.nx // setting.binx, "valid pixels along x")
    header[f"{prefix} NY"] = (chip.ny // setting.biny, "valid pixels along y")
    header[f"{prefix} PRSCX"] = (chip.prescan // setting.binx, "prescan region in x")
    header[f"{prefix} PRSCY"] = (0, "prescan region in y")
    header[f"{prefix} OVSCX"] = (chip.overscan // setting.binx, "overscan region in x")
    header[f"{prefix} OVSCY"] = (0, "overscan region in y")
    header[f"{prefix} GAIN"] = (chip.gain_adu_per_electron, "conversion from electrons to ADU")
    header[f"{prefix} CONAD"] = (
        round(1.0 / chip.gain_adu_per_electron, 4),
        "conversion from ADU to electrons",
    )
    header[f"{prefix} RON"] = (chip.read_noise_electrons, "readout noise per output (e-)")


def _add_observation(header: fits.Header, exposure: Exposure) -> None:
    midnight = exposure.start.replace(hour=0, minute=0, second=0, microsecond=0)
    add_pointing(header, exposure, "UVES")
    header["UTC"] = (round((exposure.start - midnight).total_seconds(), 3), "UTC at start [s]")
    header["LST"] = (round(_local_sidereal_seconds(exposure), 3), "LST at start [s]")
    header["PI-COI"] = ("UNKNOWN" if exposure.kind is not FrameKind.SCIENCE else "Phoenix, S.", "PI-COI name")
    header["OBSERVER"] = ("UNKNOWN", "name of observer")
    header["ARCFILE"] = (exposure.arcfile, "archive file name")
    header["ORIGFILE"] = (exposure.arcfile, "original file name")
    dpr = DPR[exposure.kind]
    catg, template = dpr[0], dpr[3]
    arm = exposure.setting.arm.value
    add_programme(header, exposure, f"{exposure.object_name}_{arm}" if catg == "SCIENCE" else "Calibration")
    header["HIERARCH ESO OBS START"] = (
        exposure.template_start.isoformat(timespec="seconds"),
        "OB start time",
    )
    add_template(header, exposure, f"UVES_{arm}_{template}", f"UVES {arm} {template.replace('_', ' ')}", dpr)


def _add_telescope(header: fits.Header, exposure: Exposure) -> None:
    add_site(header)
    header["HIERARCH ESO TEL AIRM START"] = (round(exposure.airmass, 3), "airmass at start")
    header["HIERARCH ESO TEL AIRM END"] = (round(exposure.airmass, 3), "airmass at end")
    header["HIERARCH ESO TEL ALT"] = (
        round(_altitude_deg(exposure.airmass), 3),
        "altitude angle at start [deg]",
    )
    header["HIERARCH ESO TEL TARG ALPHA"] = (_sexagesimal_number(exposure.ra_deg / 15.0), "alpha coordinate")
    header["HIERARCH ESO TEL TARG DELTA"] = (_sexagesimal_number(exposure.dec_deg), "delta coordinate")
    header["HIERARCH ESO TEL AMBI FWHM START"] = (exposure.seeing_arcsec, "observatory seeing at start")
    header["HIERARCH ESO TEL AMBI FWHM END"] = (exposure.seeing_arcsec, "observatory seeing at end")


def _add_instrument(header: fits.Header, exposure: Exposure) -> None:
    setting = exposure.setting
    arm = setting.arm
    slit_unit, slit_length, pixscale, _ = SLIT[arm]
    grating = 1 if arm is Arm.BLUE else 2
    width = exposure.slit_width_arcsec if exposure.kind is not FrameKind.ORDER_DEFINITION else 0.4
    header["HIERARCH ESO INS ID"] = ("UVES/1.46", "instrument ID")
    header["HIERARCH ESO INS MODE"] = (arm.value.upper(), "instrument mode used")
    header["HIERARCH ESO INS PATH"] = (arm.value.upper(), "optical path used")
    header["HIERARCH ESO INS PIXSCALE"] = (pixscale, "pixel scale [arcsec/px]")
    header["HIERARCH ESO INS SLIT1 NAME"] = ("FREE", "slit/slicer name")
    header[f"HIERARCH ESO INS GRAT{grating} ID"] = (setting.cross_disperser, "cross-disperser ID")
    header[f"HIERARCH ESO INS GRAT{grating} NAME"] = (setting.cross_disperser, "cross-disperser name")
    header[f"HIERARCH ESO INS GRAT{grating} WLEN"] = (
        float(setting.wlen_nm),
        "grating central wavelength [nm]",
    )
    header[f"HIERARCH ESO INS SLIT{slit_unit} NAME"] = ("FREE", "slit name")
    header[f"HIERARCH ESO INS SLIT{slit_unit} LEN"] = (slit_length, "slit length [arcsec]")
    header[f"HIERARCH ESO INS SLIT{slit_unit} WID"] = (width, "slit width [arcsec]")
    if arm is Arm.RED:
        header["HIERARCH ESO INS SLIT3 MODE"] = ("SLIT", "slit mode")
        header["HIERARCH ESO INS SLIT3 PLATE"] = (1, "slit plate number")
    for sensor, celsius in CAMERA_TEMPERATURES_C.items():
        header[f"HIERARCH ESO INS TEMP{sensor} MEAN"] = (celsius, "average temperature [C]")
    header["HIERARCH ESO INS SENS26 MEAN"] = (743.2, "average pressure [hPa]")
    lamp = LAMP_NAME.get(exposure.kind)
    header["HIERARCH ESO INS LAMP1 NAME"] = (lamp or "", "lamp name")
    header["HIERARCH ESO INS LAMP1 ST"] = (lamp is not None, "lamp on")
    header["HIERARCH ESO INS SHUT1 ST"] = (exposure.kind is not FrameKind.BIAS, "shutter open")


def _add_detector(header: fits.Header, exposure: Exposure) -> None:
    setting = exposure.setting
    chips = setting.chips
    header["HIERARCH ESO DET ID"] = ("CCD FIERA - Rev: 3.9", "detector system ID")
    header["HIERARCH ESO DET NAME"] = (
        f"ccd{setting.arm.value[0]} - {setting.arm.value} arm",
        "detector name",
    )
    header["HIERARCH ESO DET CHIPS"] = (len(chips), "number of chips in the mosaic")
    header["HIERARCH ESO DET OUTPUTS"] = (len(chips), "number of outputs")
    header["HIERARCH ESO DET READ MODE"] = ("normal", "readout method")
    header["HIERARCH ESO DET READ SPEED"] = (READ_SPEED, "readout speed")
    header["HIERARCH ESO DET READ CLOCK"] = (READ_CLOCK, "readout clock pattern")
    header["HIERARCH ESO DET WIN1 STRX"] = (1, "lower left pixel in x")
    header["HIERARCH ESO DET WIN1 STRY"] = (1, "lower left pixel in y")
    # Binned, as real frames count them (2x2 blue: 1074 x 1500).
    header["HIERARCH ESO DET WIN1 NX"] = (
        (chips[0].nx + chips[0].prescan + chips[0].overscan) // setting.binx,
        "pixels along x",
    )
    header["HIERARCH ESO DET WIN1 NY"] = (chips[0].ny // setting.biny, "pixels along y")
    header["HIERARCH ESO DET WIN1 BINX"] = (setting.binx, "binning factor along x")
    header["HIERARCH ESO DET WIN1 BINY"] = (setting.biny, "binning factor along y")
    header["HIERARCH ESO DET WIN1 DIT1"] = (exposure.exptime_s, "actual integration time")
    header["HIERARCH ESO DET WIN1 UIT1"] = (exposure.exptime_s, "user defined integration time")
    header["HIERARCH ESO DET SHUT TYPE"] = ("Slit", "type of shutter")
    for index, chip in enumerate(chips, start=1):
        header[f"HIERARCH ESO DET CHIP{index} ID"] = (chip.chip_id, "detector chip identification")
        header[f"HIERARCH ESO DET CHIP{index} NAME"] = (chip.chip_name, "detector chip name")
        header[f"HIERARCH ESO DET CHIP{index} NX"] = (chip.nx, "physical active pixels in x")
        header[f"HIERARCH ESO DET CHIP{index} NY"] = (chip.ny, "physical active pixels in y")
        # Real two-chip frames describe the second chip's output as OUT4.
        _add_output(header, chip, setting, 1 if index == 1 else 4)


def _local_sidereal_seconds(exposure: Exposure) -> float:
    # Approximate GMST formula (USNO): astropy's exact one needs IERS tables from the network.
    days = Time(exposure.start, scale="utc").jd - 2451545.0
    gmst_hours = 18.697374558 + 24.06570982441908 * days
    return ((gmst_hours + PARANAL_LONGITUDE_DEG / 15.0) % 24.0) * 3600.0


def _altitude_deg(airmass: float) -> float:
    return 90.0 - math.degrees(math.acos(min(1.0, 1.0 / airmass)))


def _sexagesimal_number(value: float) -> float:
    """ESO's TEL TARG ALPHA/DELTA style: hhmmss.sss (or ddmmss.ss) as one signed number."""
    sign = -1.0 if value < 0 else 1.0
    value = abs(value)
    hours = int(value)
    minutes = int((value - hours) * 60)
    seconds = (value - hours - minutes / 60.0) * 3600.0
    return round(sign * (hours * 10000 + minutes * 100 + seconds), 3)
