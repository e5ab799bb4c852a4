"""What the ingestor decides without I/O: final states, names, arms."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.ingestor.plan import arm_of, calibration_name, indistinct_idps, rejection_reason, state_without_ingestion
from shared.contracts import (
    AssociationBlock,
    Certified,
    Decision,
    FinalState,
    ProcessingMode,
    Product,
    ProductKind,
    RawFrame,
    StagedFile,
)

FILE = StagedFile(uri="store:x", size_bytes=1, sha256="0" * 64)
AB = AssociationBlock(
    ab_id="UVES_ECHELLE.2024-03-01.SCI_POINT_BLUE.1", ab_name="x.ab", instrument="UVES", instrument_mode="UVES_ECHELLE",
    night=date(2024, 3, 1), mode=ProcessingMode.IDP, dpr_catg="SCIENCE", raw_type="SCI_POINT_BLUE",
    recipe="uves_obs_scired", mjd_obs=60370.9, mjd_obs_mod=60370.9,
    raw_files=[RawFrame(arcfile="UVES.x.fits", category="SCI_POINT_BLUE", mjd_obs=60370.9)],
)


def idp(name: str) -> Product:
    return Product(name=name, pro_catg="SCIENCE.SPECTRUM", kind=ProductKind.IDP, file=FILE)


@pytest.mark.parametrize(
    ("decision", "reason", "state"),
    [
        (Decision.REVIEW, "policy ALL: every AB is reviewed", FinalState.REVIEW),
        (Decision.REJECTED, "processing failed: uves_cal_mbias exited 1", FinalState.FAILED),
        (Decision.REJECTED, "2 mandatory QC parameter(s) missing", FinalState.REJECTED),
    ],
)
def test_undecided_abs_keep_the_certifiers_verdict(decision: Decision, reason: str, state: FinalState) -> None:
    event = Certified(correlation_id=uuid.uuid4(), ab=AB, decision=decision, reason=reason)
    assert state_without_ingestion(event) is state


def test_a_master_is_named_by_instrument_category_night_and_content() -> None:
    assert calibration_name("UVES", "MASTER_BIAS_BLUE", date(2024, 3, 1), "ab" * 32) == (
        "UVES.MASTER_BIAS_BLUE.2024-03-01.abababababab"
    )


@pytest.mark.parametrize(
    ("name", "arm"),
    [("UVES.2024-03-01T23:47:02.078_SDP_BLUE.fits", "BLUE"), ("r_SDP_RED.fits", "RED"), ("spectrum.fits", "")],
)
def test_the_arm_comes_from_the_file_name(name: str, arm: str) -> None:
    assert arm_of(idp(name)) == arm


def test_two_idps_of_one_arm_cannot_be_told_apart() -> None:
    assert indistinct_idps([idp("a_SDP_BLUE.fits"), idp("b_SDP_RED.fits")]) == []
    assert indistinct_idps([idp("a_SDP_BLUE.fits"), idp("b_SDP_BLUE.fits")]) == [
        "b_SDP_BLUE.fits and a_SDP_BLUE.fits are both arm BLUE; one would supersede the other"
    ]


def test_a_long_list_of_problems_is_shortened() -> None:
    reason = rejection_reason([f"problem {n}" for n in range(10)], shown=2)
    assert reason == "Phase 3 validation failed (10 problem(s)): problem 0; problem 1; and 8 more"
