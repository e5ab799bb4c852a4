from datetime import date

import pytest

from services.qc.extraction import Measurement
from services.qc.scoring import (
    MANDATORY_MISSING,
    score_measurements,
    score_value,
    statistical_needs,
    statistical_range,
)
from services.qc.thresholds import Informational, Threshold, ThresholdSet


def fixed(**fields) -> Threshold:
    return Threshold(applies_to=["MASTER_BIAS_*"], parameter="QC.OUT1.RON.MASTER", label="RON", unit="ADU", **fields)


def statistical(**fields) -> Threshold:
    return Threshold(applies_to=["FLAT_*"], parameter="PRO.DATAMED", label="flat level", unit="ADU",
                     kind="statistical", **fields)


def test_a_value_inside_a_fixed_range_scores_zero_with_a_readable_message():
    verdict = score_value(3.9, fixed(low=2.0, high=6.0))
    assert verdict.score == 0
    assert verdict.message == "RON 3.9 ADU within 2–6"
    assert 0.5 < verdict.grade < 1.0


def test_the_grade_is_one_at_the_centre_a_half_on_the_edge_and_falls_outside():
    threshold = fixed(low=2.0, high=6.0)
    assert score_value(4.0, threshold).grade == 1.0
    assert score_value(6.0, threshold).grade == 0.5
    outside = [score_value(v, threshold).grade for v in (7.0, 10.0, 100.0)]
    assert outside == sorted(outside, reverse=True) and all(g < 0.5 for g in outside)


def test_outside_a_fixed_range_scores_one_and_says_which_side():
    assert score_value(1.0, fixed(low=2.0, high=6.0)).message == "RON 1 ADU below 2–6"
    assert score_value(7.5, fixed(low=2.0, high=6.0)).score == 1
    assert score_value(7.5, fixed(high=6.0)).message == "RON 7.5 ADU fails ≤ 6"


@pytest.mark.parametrize("value", [None, "n/a", float("nan"), float("inf"), True])
def test_missing_or_non_numeric_values_are_unscored_with_a_reason(value):
    verdict = score_value(value, fixed(low=2.0, high=6.0))
    assert verdict.score is None and verdict.grade is None
    assert "unscored" in verdict.message


def test_a_statistical_range_is_median_plus_minus_k_mad_of_the_last_n_values():
    history = [100.0] * 20 + [150, 152, 148, 151, 149, 150]
    bounds = statistical_range(history, statistical(k=3.0, n=6, min_history=5))
    assert bounds is not None
    # median 150, MAD 1 → ± 3·1.4826
    assert bounds.low == pytest.approx(150 - 3 * 1.4826)
    assert bounds.high == pytest.approx(150 + 3 * 1.4826)
    assert score_value(157.0, statistical(k=3.0, n=6, min_history=5), history).score == 1
    assert score_value(151.0, statistical(k=3.0, n=6, min_history=5), history).score == 0


def test_a_statistical_range_has_a_floor_when_the_history_never_moves():
    verdict = score_value(102.0, statistical(min_half_width=5.0), [100.0] * 10)
    assert verdict.score == 0


def test_a_short_history_falls_back_to_the_fixed_range_or_stays_unscored():
    with_fallback = score_value(157.0, statistical(low=15.0, high=2000.0), [150.0, 151.0])
    assert with_fallback.score == 0 and "fixed fallback, 2 certified values" in with_fallback.message
    without = score_value(157.0, statistical(), [150.0, 151.0])
    assert without.score is None and "2 of 5 certified values" in without.message


def threshold_set() -> ThresholdSet:
    return ThresholdSet(version="v1", valid_from=date(2004, 4, 1), thresholds=[
        Threshold(applies_to=["MASTER_BIAS_*"], parameter="QC.OUT?.RON.RAW", low=0.5, high=5.0, mandatory=True),
        Threshold(applies_to=["SCI_*"], parameter="SDP.SNR.MEDIAN", low=5.0, mandatory=True),
    ])


def test_every_measurement_is_reported_and_those_without_threshold_are_unscored():
    measurements = [
        Measurement("mb.fits", "MASTER_BIAS_REDL", "QC.OUT4.RON.RAW", 2.5, "ADU"),
        Measurement("mb.fits", "MASTER_BIAS_REDL", "QC.OUT4.STRUCTX", "junk"),
    ]
    scores = score_measurements(measurements, threshold_set(), "BIAS_RED", [("mb.fits", "MASTER_BIAS_REDL")], {})
    assert [(s.parameter, s.score) for s in scores] == [("QC.OUT4.RON.RAW", 0), ("QC.OUT4.STRUCTX", None)]
    assert scores[1].message == "QC.OUT4.STRUCTX unscored: not a number ('junk')"
    assert {s.threshold_set for s in scores} == {"v1"}


def test_a_parameter_listed_as_informational_says_so_with_its_reason_and_a_threshold_wins():
    rules = threshold_set().model_copy(update={"informational": [
        Informational(applies_to=["SCI_*"], parameters=["QC.ORD*.OBJ.SN", "SDP.SNR.MEDIAN"], reason="follows the star"),
    ]})
    measurements = [Measurement("m.fits", "MERGED_SCI_POINT_BLUE", "QC.ORD12.OBJ.SN", 41.4),
                    Measurement("m.fits", "MERGED_SCI_POINT_BLUE", "SDP.SNR.MEDIAN", 28.0),
                    Measurement("m.fits", "MERGED_SCI_POINT_BLUE", "QC.EX.XSIZE", 3000),
                    Measurement("mb.fits", "MASTER_BIAS_BLUE", "QC.ORD12.OBJ.SN", 1.0)]
    scores = score_measurements(measurements, rules, "SCI_POINT_BLUE", [], {})
    assert [(s.score, s.informational) for s in scores] == [(None, True), (0, False), (None, False), (None, True)]
    assert scores[0].message == "QC.ORD12.OBJ.SN informational: follows the star" and scores[0].value == 41.4
    assert scores[2].message == "QC.EX.XSIZE unscored: no threshold"
    bias = score_measurements(measurements[3:], rules, "BIAS_BLUE", [("mb.fits", "MASTER_BIAS_BLUE")], {})
    assert not any(s.informational for s in bias), "listed for science products and RAW_TYPEs only"


def test_a_mandatory_parameter_missing_from_its_product_or_its_ab_is_reported():
    products = [("mb.fits", "MASTER_BIAS_BLUE")]
    scores = score_measurements([], threshold_set(), "BIAS_BLUE", products, {})
    assert [(s.product, s.parameter) for s in scores] == [("mb.fits", "QC.OUT?.RON.RAW")]
    assert scores[0].message.startswith(MANDATORY_MISSING)
    science = score_measurements([], threshold_set(), "SCI_POINT_BLUE", [], {})
    assert [s.parameter for s in science] == ["SDP.SNR.MEDIAN"]


def test_a_mandatory_parameter_that_is_not_a_number_counts_as_missing():
    measurement = Measurement("mb.fits", "MASTER_BIAS_BLUE", "QC.OUT1.RON.RAW", "NaN?")
    scores = score_measurements([measurement], threshold_set(), "BIAS_BLUE", [("mb.fits", "MASTER_BIAS_BLUE")], {})
    assert scores[0].score is None and scores[0].message.startswith(MANDATORY_MISSING)


def test_without_a_threshold_set_everything_is_unscored_with_the_reason():
    measurement = Measurement("mb.fits", "MASTER_BIAS_BLUE", "QC.OUT1.RON.RAW", 2.0)
    scores = score_measurements([measurement], None, "BIAS_BLUE", [], {}, no_set_reason="no set for 1999-01-01")
    assert scores[0].score is None and scores[0].message.endswith("no set for 1999-01-01")


def test_each_product_is_scored_by_the_first_threshold_listed_for_it_and_its_parameter():
    rules = ThresholdSet(version="v1", valid_from=date(2004, 4, 1), thresholds=[
        Threshold(applies_to=["MASTER_FLAT_REDU"], parameter="QC.FLUX.MED", low=100.0),
        Threshold(applies_to=["MASTER_FLAT_*"], parameter="QC.FLUX.MED", low=10.0),
        Threshold(applies_to=["MASTER_FLAT_BLUE"], parameter="QC.FLUX.MED", kind="statistical", n=12),
    ])
    measurements = [Measurement("u.fits", "MASTER_FLAT_REDU", "QC.FLUX.MED", 50.0),
                    Measurement("l.fits", "MASTER_FLAT_REDL", "QC.FLUX.MED", 50.0),
                    Measurement("b.fits", "MASTER_FLAT_BLUE", "QC.FLUX.MED", 50.0)]
    scores = score_measurements(measurements, rules, "FLAT_RED", [], {})
    assert [s.score for s in scores] == [1, 0, 0], "REDU's own threshold first; the general one for REDL and BLUE"
    assert statistical_needs(rules, "FLAT_RED", measurements) == {}, "the fixed general threshold comes first"
    assert statistical_needs(rules.model_copy(update={"thresholds": rules.thresholds[2:]}), "FLAT_BLUE",
                             measurements) == {"QC.FLUX.MED": 12}
