from pathlib import Path

import pytest

from services.certifier.policies import (
    SAMPLED,
    CertificationRules,
    Policy,
    decide,
    load_rules,
    sampled,
)
from services.certifier.service import load_all_rules
from services.qc.extraction import Measurement
from services.qc.scoring import score_measurements
from services.qc.thresholds import Threshold, ThresholdSet
from shared.contracts import Decision, ProcessStatus, QcScore
from shared.errors import ConfigError

GREEN = QcScore(product="p", parameter="QC.A", value=1.0, score=0, message="A 1 within 0–2")
RED = QcScore(product="p", parameter="QC.B", value=9.0, score=1, message="B 9 above 0–2")
GREY = QcScore(product="p", parameter="QC.C", value=3.0, score=None, message="QC.C unscored: no threshold")


def rules(*policies: Policy) -> CertificationRules:
    return CertificationRules(instrument_mode="UVES_ECHELLE", seed="s", policies=list(policies))


NONZERO = rules(Policy(raw_types=["*"], policy="NONZERO", review_raw_types=["ARC_LAMP_FORM_*"]))


def verdict(scores, raw_type="BIAS_BLUE", policy=NONZERO, status=ProcessStatus.SUCCESSFUL, ab_id="ab1", sampled_before=True):
    return decide(ab_id, raw_type, status, "esorex exited 1", scores, policy, sampled_before)


def test_failed_processing_is_rejected_with_its_reason_whatever_the_policy():
    result = verdict([GREEN], status=ProcessStatus.FAILED)
    assert result.decision is Decision.REJECTED and result.reason == "processing failed: esorex exited 1"


def test_a_missing_mandatory_parameter_is_rejected():
    thresholds = ThresholdSet(version="v", valid_from="2004-04-01", thresholds=[
        Threshold(applies_to=["MASTER_BIAS_*"], parameter="QC.OUT1.RON.RAW", high=5.0, mandatory=True)])
    qc = score_measurements([Measurement("mb", "MASTER_BIAS_BLUE", "QC.OUT1.STRUCTX", 1.0)], thresholds,
                            "BIAS_BLUE", [("mb", "MASTER_BIAS_BLUE")], {})
    result = verdict([*qc, GREEN])
    assert result.decision is Decision.REJECTED and "1 mandatory QC parameter(s) missing" in result.reason


def test_nonzero_certifies_all_green_and_reviews_outliers_nothing_scored_and_listed_raw_types():
    assert verdict([GREEN, GREY]).decision is Decision.CERTIFIED
    outlier = verdict([GREEN, RED])
    assert outlier.decision is Decision.REVIEW and "B 9 above 0–2" in outlier.reason
    assert verdict([GREY]).reason == "no QC parameter was scored"
    assert verdict([GREEN], raw_type="ARC_LAMP_FORM_RED").decision is Decision.REVIEW


def test_all_reviews_everything():
    result = verdict([GREEN], policy=rules(Policy(raw_types=["*"], policy="ALL")))
    assert (result.decision, result.policy) == (Decision.REVIEW, "ALL")


def test_random_sampling_is_reproducible_and_close_to_its_percentage():
    ids = [f"UVES_ECHELLE.2024-03-01.SCI_POINT_BLUE.{i:08x}" for i in range(4000)]
    first = [sampled(ab_id, "seed", 10.0) for ab_id in ids]
    assert first == [sampled(ab_id, "seed", 10.0) for ab_id in ids]
    assert 0.08 < sum(first) / len(ids) < 0.12
    assert first != [sampled(ab_id, "other seed", 10.0) for ab_id in ids]


def test_random_reviews_at_least_one_good_ab_per_night():
    policy = rules(Policy(raw_types=["SCI_*"], policy="RANDOM", percent=0.001))
    first = verdict([GREEN], raw_type="SCI_POINT_BLUE", policy=policy, sampled_before=False)
    later = verdict([GREEN], raw_type="SCI_POINT_BLUE", policy=policy, sampled_before=True)
    assert first.decision is Decision.REVIEW and first.reason.startswith(SAMPLED)
    assert later.decision is Decision.CERTIFIED
    assert verdict([RED], raw_type="SCI_POINT_BLUE", policy=policy).decision is Decision.REVIEW


def test_a_raw_type_no_policy_covers_goes_to_review():
    result = verdict([GREEN], raw_type="SCI_POINT_BLUE", policy=rules(Policy(raw_types=["BIAS_*"], policy="NONZERO")))
    assert result.decision is Decision.REVIEW and "no certification policy" in result.reason


def test_random_without_percent_is_refused_naming_the_line(tmp_path: Path):
    path = tmp_path / "certification.toml"
    path.write_text('instrument_mode = "X"\nseed = "s"\n\n[[policies]]\nraw_types = ["*"]\npolicy = "RANDOM"\n')
    with pytest.raises(ConfigError, match=r"certification.toml:\d+: .*percent > 0"):
        load_rules(path)


def test_the_shipped_certification_rules_load():
    uves = load_all_rules()["UVES_ECHELLE"]
    assert uves.policy_for("SCI_POINT_BLUE").policy == "NONZERO"
    assert uves.policy_for("BIAS_RED").policy == "NONZERO"
