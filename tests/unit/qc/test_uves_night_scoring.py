"""Every QC parameter a UVES night carries is scored or deliberately informational, none unscored.

The parameters are those the real pipeline (uves 6.1.8) and phoenix wrote for a simulated 2x2
night of blue 390 and red 580 nm (`phoenix run UVES_ECHELLE 2024-03-01 --mode COMPLETE`), per
product kind; per-order and per-window keywords stand for all their orders and windows.
"""

from datetime import date

import pytest

from services.qc.extraction import Measurement
from services.qc.scoring import score_measurements
from services.qc.service import load_all_thresholds

ARC_FIT = ["QC.FWHMAVG", "QC.FWHMMED", "QC.FWHMRMS", "QC.LINE.HALFBRIG", "QC.LINE.IDCHI2", "QC.LINE.RESIDAVG",
           "QC.LINE.RESIDRMS", "QC.LINE.RESIDRMS.PIX", "QC.LINE.RESIDRMS.SPEED", "QC.LINE.RESIDRMS.WLU",
           "QC.LINE.SYSERR", "QC.LINE.WAVEERR", "QC.NLINRES1", "QC.NLINSEL", "QC.NLINSOL", "QC.NLINTOT", "QC.ORDMAX",
           "QC.ORDMAX.DETECTED", "QC.ORDMIN", "QC.ORDMIN.DETECTED", "QC.RESOLAVG", "QC.RESOLMED", "QC.RESOLRMS",
           "QC.TRACE0.WIN2.NLINDET.NITERS", "QC.TRACE0.WIN2.NLINDET3", "QC.TRACE0.WIN2.NLINID.NITERS",
           "QC.TRACE0.WIN2.NLINID1", "QC.WLENMAX", "QC.WLENMIN"]
EXTRACTION = ["QC.EX.NORD", "QC.EX.XSIZE", "QC.EX.YSIZE", "QC.ORD12.OBJ.FWHM", "QC.ORD12.OBJ.POS",
              "QC.ORD12.OBJ.RPLPAR", "QC.ORD12.OBJ.SN", "QC.VRAD.BARYCOR", "QC.VRAD.HELICOR"]
NIGHT = {
    ("BIAS_RED", "MASTER_BIAS_REDL"): ["PRO.DATAMED", "QC.DUTYCYCL", "QC.OUT4.RON.MASTER", "QC.OUT4.RON.RAW",
                                       "QC.OUT4.STRUCTX", "QC.OUT4.STRUCTY"],
    ("ARC_LAMP_FORM_BLUE", "LINE_GUESS_TAB_BLUE"): [
        "QC.MODEL.DIFFXAVG", "QC.MODEL.DIFFXMED", "QC.MODEL.DIFFXRMS", "QC.MODEL.DIFFYAVG", "QC.MODEL.DIFFYMED",
        "QC.MODEL.DIFFYRMS", "QC.MODEL.NLINALL", "QC.MODEL.NLINSEL", "QC.MODEL.ORDMAX", "QC.MODEL.ORDMIN",
        "QC.MODEL.WLENMAX", "QC.MODEL.WLENMIN", "QC.ORDMAX", "QC.ORDMIN", "QC.WLENMAX", "QC.WLENMIN"],
    ("ORDER_FLAT_RED", "ORDER_TABLE_REDU"): [
        "QC.ORD.NDET", "QC.ORD.NPOSALL", "QC.ORD.NPOSSEL", "QC.ORD.NPRED", "QC.ORD.RESIDAVG", "QC.ORD.RESIDMAX",
        "QC.ORD.RESIDMIN", "QC.ORD.RESIDRMS", "QC.ORDMAX", "QC.ORDMIN"],
    ("FLAT_BLUE", "MASTER_FLAT_BLUE"): ["PRO.DATAMED"],
    ("FLAT_BLUE", "FLAT_BLUE"): ["RAW.SATURATED.FRACTION"],
    ("ARC_LAMP_RED", "LINE_TABLE_REDL"): ARC_FIT,
    ("SCI_POINT_BLUE", "MERGED_SCI_POINT_BLUE"): ["PRO.DATAMED", *EXTRACTION],
    ("SCI_POINT_RED", "ERRORBAR_SCI_POINT_REDU"): EXTRACTION,
    ("SCI_POINT_RED", "SCIENCE.SPECTRUM"): ["SDP.CONTINUUM.LEVEL", "SDP.FLAGGED.FRACTION", "SDP.SNR.MEDIAN",
                                            "SDP.WAVE.COVERAGE", "SDP.WAVE.MAX", "SDP.WAVE.MIN", "SNR"],
}


@pytest.mark.parametrize(("raw_type", "pro_catg"), list(NIGHT))
def test_every_parameter_of_a_night_is_scored_or_informational(raw_type: str, pro_catg: str) -> None:
    rules = load_all_thresholds()["UVES_ECHELLE"].select(date(2024, 3, 1))
    assert rules is not None
    rules = rules.for_setting({"DET.WIN1.BINX": "2"})
    measurements = [Measurement("p.fits", pro_catg, parameter, 1.0) for parameter in NIGHT[raw_type, pro_catg]]
    scores = [s for s in score_measurements(measurements, rules, raw_type, [], {}) if s.product == "p.fits"]
    assert len(scores) == len(measurements)
    unscored = [s.parameter for s in scores if s.score is None and not s.informational]
    assert unscored == []
    assert all(s.message.split(" informational: ")[1] for s in scores if s.informational), "each with its reason"
