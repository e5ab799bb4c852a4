"""Every QC value of a GIRAFFE night is scored and within range, or deliberately informational.

The values are those giraf 2.16.10 and phoenix wrote for the simulated night
(`phoenix simulate GIRAFFE --night 2024-03-01 --preset small --seed 0`, then `phoenix run
GIRAFFE_MEDUSA 2024-03-01 --mode MCALIB`): every QC keyword gimasterbias and gimasterdark write,
and PRO.DATAMED. The fibre flat and science ABs make no products (no static calibrations).
"""

from datetime import date

import pytest

from services.qc.extraction import Measurement
from services.qc.scoring import score_measurements
from services.qc.service import load_all_thresholds

NIGHT = {
    ("BIAS", "MASTER_BIAS"): {
        "PRO.DATAMED": 218.0, "QC.BIAS.MASTER.MEDIAN": 218.0, "QC.BIAS.MASTER.MEAN": 218.004,
        "QC.BIAS.MASTER.RMS": 4.378, "QC.OUT1.RON.RAW": 6.432, "QC.OUT1.RON.MASTER": 4.318,
        "QC.OUT1.STRUCT.X": 0.210, "QC.OUT1.STRUCT.Y": 0.700},
    ("DARK", "MASTER_DARK"): {
        "PRO.DATAMED": 3.24e-4, "QC.DARK.CURRENT": 1.292, "QC.GLOW.LEVEL": 459.8, "QC.GLOW.POSX": 1367,
        "QC.GLOW.POSY": 3830},
}
INFORMATIONAL = {
    "MASTER_BIAS": {"QC.BIAS.MASTER.MEAN", "QC.BIAS.MASTER.RMS"},
    "MASTER_DARK": {"PRO.DATAMED", "QC.GLOW.POSX", "QC.GLOW.POSY"},
}


@pytest.mark.parametrize(("raw_type", "pro_catg"), list(NIGHT))
def test_every_value_of_a_giraffe_night_is_scored_in_range_or_informational(raw_type: str, pro_catg: str) -> None:
    rules = load_all_thresholds()["GIRAFFE_MEDUSA"].select(date(2024, 3, 1))
    assert rules is not None
    measurements = [Measurement("p.fits", pro_catg, name, value) for name, value in NIGHT[raw_type, pro_catg].items()]
    scores = score_measurements(measurements, rules, raw_type, [("p.fits", pro_catg)], {})
    assert len(scores) == len(measurements), "no mandatory parameter missing"
    assert [s.parameter for s in scores if s.score is None and not s.informational] == [], "none unscored"
    assert [s.message for s in scores if s.score == 1] == [], "the night's values pass"
    assert {s.parameter for s in scores if s.informational} == INFORMATIONAL[pro_catg]
    assert all(s.message.split(" informational: ")[1] for s in scores if s.informational), "each with its reason"
