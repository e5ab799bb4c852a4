"""The simulator's headers carry the keywords the pipeline and the rules read, with values as real
UVES raw frames write them. The real values below are from the header of ESO's own UVES product
`mnlup_r.UVES.2011-08-11T232352.266-A01_0000.fits` (blue 437 nm, 2x2; programme 087.C-0991(A)),
which keeps the keywords of its raw frame. Based on data obtained from the ESO Science Archive Facility."""

from __future__ import annotations

import re
from datetime import datetime

from shared.rawarchive.fitsmeta import flatten_header
from tools.simulator.headers import Exposure, FrameKind, chip_header, primary_header
from tools.simulator.instrument import BLUE_CHIP, Arm, Setting

REAL_BLUE_2X2 = {
    "TEL.GEOLAT": -24.6272,
    "TEL.GEOLON": -70.4048,
    "DET.WIN1.NX": 1074,
    "DET.WIN1.NY": 1500,
    "DET.OUT1.NX": 1024,
    "DET.OUT1.NY": 1500,
    "DET.CHIPS": 1,
    "DET.OUTPUTS": 1,
    "INS.PATH": "BLUE",
    "INS.GRAT1.WLEN": 437.0,
}
READ_SPEED_FORMAT = re.compile(r"^1pt/\d+kHz/(hg|lg)$")  # real: '1pt/50kHz/hg'
PIPELINE_READS = (  # `strings libuves.so | grep '^ESO '` (cpl-plugin-uves 6.1.8): those a blue raw frame carries
    "DET.CHIP1.ID", "DET.CHIP1.NAME", "DET.ID", "DET.OUT1.CONAD", "DET.OUT1.GAIN", "DET.OUT1.NX", "DET.OUT1.NY",
    "DET.OUT1.OVSCX", "DET.OUT1.OVSCY", "DET.OUT1.PRSCX", "DET.OUT1.PRSCY", "DET.OUT1.RON", "DET.READ.SPEED",
    "DET.WIN1.BINX", "DET.WIN1.BINY", "DET.WIN1.DIT1", "DET.WIN1.UIT1", "DPR.CATG", "DPR.TECH", "DPR.TYPE",
    "INS.GRAT1.ID", "INS.GRAT1.NAME", "INS.GRAT1.WLEN", "INS.MODE", "INS.PATH", "INS.PIXSCALE", "INS.SENS26.MEAN",
    "INS.SLIT2.LEN", "INS.SLIT2.WID", "INS.TEMP1.MEAN", "INS.TEMP2.MEAN", "INS.TEMP31.MEAN", "OBS.TARG.NAME",
    "TEL.AIRM.END", "TEL.AIRM.START", "TEL.ALT", "TEL.GEOLAT", "TEL.GEOLON", "TPL.START",
)


def _blue_science_2x2() -> dict:
    start = datetime(2011, 8, 11, 23, 23, 52)
    exposure = Exposure(kind=FrameKind.SCIENCE, setting=Setting(arm=Arm.BLUE, wlen_nm=437), start=start,
                        exptime_s=1200.0, object_name="MN-Lup", obs_id=200219190, template_start=start)
    return {**flatten_header(primary_header(exposure)), **flatten_header(chip_header(exposure, BLUE_CHIP, 1))}


def test_a_simulated_blue_2x2_frame_has_the_real_values() -> None:
    header = _blue_science_2x2()
    assert {key: header.get(key) for key in REAL_BLUE_2X2} == REAL_BLUE_2X2
    assert READ_SPEED_FORMAT.fullmatch(header["DET.READ.SPEED"])


def test_every_keyword_the_pipeline_reads_is_there() -> None:
    header = _blue_science_2x2()
    assert [key for key in PIPELINE_READS if key not in header] == []
