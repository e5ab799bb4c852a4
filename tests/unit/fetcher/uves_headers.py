"""Primary-header keywords of UVES raw frames, one per category, keyed by OCA names.

The values the classification rules test are the ESO data-product keywords (DPR.*) real UVES
frames carry; the night simulator should write the same ones. What decides each category in
ESO's uves.oca (cpl-plugin-uves 6.1.8, line of the deciding rule in brackets; a later true
rule overwrites an earlier one):

  DET.CHIPS == 1 → *_BLUE, DET.CHIPS == 2 → *_RED (blue CCD vs the two-chip red mosaic)
  BIAS_x             DPR.CATG like %CALIB%, DPR.TYPE like %BIAS%                      [10, 14]
  DARK_x             DPR.CATG like %CALIB%, DPR.TYPE like %DARK%                      [64, 72]
  ARC_LAMP_FORM_x    DPR.CATG like %CALIB%, DPR.TYPE like %LAMP% and %FMTCHK%,
                     DPR.TECH like %ECHELLE%                                          [227, 231]
  ORDER_FLAT_x       DPR.CATG like %CALIB%, DPR.TYPE like %LAMP% and %ORDERDEF%,
                     DPR.TECH like %ECHELLE%                                          [191, 195]
  FLAT_BLUE          DPR.CATG like %CALIB%, DPR.TYPE like %LAMP% and %FLAT%,
                     DPR.TECH like %ECHELLE%, INS.SLIT1.NAME like %FREE%              [81]
  FLAT_RED           as FLAT_BLUE but DPR.TYPE like %LAMP,FLAT% (one pattern)         [117]
  ARC_LAMP_x         DPR.CATG like %CALIB%, DPR.TYPE like %LAMP% and %WAVE%,
                     DPR.TECH like %ECHELLE%, INS.SLIT1.NAME like %FREE% or %SLIC%    [199, 205]
  SCI_POINT_x        DPR.CATG like %SCIENCE%, DPR.TYPE like %POINT%,
                     DPR.TECH like %ECHELLE%, INS.SLIT1.NAME like %FREE%              [329, 341]
                     (SCIENCE_x [267, 333] matches the same frames first, on %OBJECT%)
  SCI_SLICER_x       DPR.CATG like %SCIENCE%, DPR.TECH like %ECHELLE%,
                     INS.SLIT1.NAME like %SLIC#% (DPR.TYPE not tested)                [353, 357]
  MASTER_BIAS_BLUE   PRO.CATG like %MASTER_BIAS_BLUE% (pipeline products)             [564]

Everything else below (arm path and mode, grating, binning, times, ARCFILE) is what the
frames carry beside those, for the fetcher's later steps; the rules do not read it.
"""

from __future__ import annotations

from typing import Literal

Arm = Literal["BLUE", "RED"]

_ARM_KEYWORDS: dict[Arm, dict[str, object]] = {
    "BLUE": {"DET.CHIPS": 1, "INS.PATH": "BLUE", "INS.MODE": "BLUE", "INS.GRAT1.WLEN": 390.0},
    "RED": {"DET.CHIPS": 2, "INS.PATH": "RED", "INS.MODE": "RED", "INS.GRAT2.WLEN": 580.0},
}


def uves_frame(arm: Arm, catg: str, type_: str, tech: str, **extra: object) -> dict[str, object]:
    """The primary-header keywords of one raw frame (OCA names)."""
    return {
        "INSTRUME": "UVES",
        "TELESCOP": "ESO-VLT-U2",
        "ARCFILE": "UVES.2015-02-23T23:12:01.123.fits",
        "MJD-OBS": 57076.96668,
        "EXPTIME": 0.0 if type_ == "BIAS" else 30.0,
        "DPR.CATG": catg,
        "DPR.TYPE": type_,
        "DPR.TECH": tech,
        "INS.SLIT1.NAME": "FREE",
        "DET.WIN1.BINX": 1,
        "DET.WIN1.BINY": 1,
        **_ARM_KEYWORDS[arm],
        **extra,
    }


def _both_arms(category: str, catg: str, type_: str, tech: str) -> dict[str, dict[str, object]]:
    return {f"{category}_{arm}": uves_frame(arm, catg, type_, tech) for arm in ("BLUE", "RED")}


# Expected category → header keywords of a frame the real uves.oca gives that category.
UVES_RAW_FRAMES: dict[str, dict[str, object]] = {
    **_both_arms("BIAS", "CALIB", "BIAS", "IMAGE"),
    **_both_arms("DARK", "CALIB", "DARK", "IMAGE"),
    **_both_arms("ARC_LAMP_FORM", "CALIB", "LAMP,FMTCHK", "ECHELLE"),
    **_both_arms("ORDER_FLAT", "CALIB", "LAMP,ORDERDEF", "ECHELLE"),
    **_both_arms("FLAT", "CALIB", "LAMP,FLAT", "ECHELLE"),
    **_both_arms("ARC_LAMP", "CALIB", "LAMP,WAVE", "ECHELLE"),
    **_both_arms("SCI_POINT", "SCIENCE", "OBJECT,POINT", "ECHELLE"),
    "SCI_SLICER_BLUE": uves_frame("BLUE", "SCIENCE", "OBJECT,POINT", "ECHELLE", **{"INS.SLIT1.NAME": "SLIC#1"}),
}

MASTER_BIAS_BLUE_PRODUCT: dict[str, object] = {
    "INSTRUME": "UVES",
    "PRO.CATG": "MASTER_BIAS_BLUE",
    "DET.CHIPS": 1,
    "MJD-OBS": 57076.96668,
}
