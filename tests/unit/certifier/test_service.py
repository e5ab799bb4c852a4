import uuid
from datetime import date

import pytest

from services.certifier.policies import CertificationRules, Policy
from services.certifier.service import CertifierContext, on_qc_scored
from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.database import read
from shared.archive.ledger import get_ab
from shared.archive.models import AbState
from shared.archive.review_queue import pending_reviews
from shared.contracts import (
    AssociationBlock,
    Decision,
    ProcessStatus,
    Product,
    ProductKind,
    QcScore,
    QcScored,
    RawFrame,
    StagedFile,
)

FILE = StagedFile(uri="store:sha256/aa/x/masterbias_blue.fits", size_bytes=1, sha256="a" * 64)


@pytest.fixture
async def db(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/archive.db"
    await upgrade_to_head(url)
    async with ArchiveDatabase(url) as database:
        yield database


def scored(raw_type: str, score: int | None, name: str = "a", status=ProcessStatus.SUCCESSFUL) -> QcScored:
    ab = AssociationBlock(
        ab_id=f"UVES_ECHELLE.2024-03-01.{raw_type}.{name}", ab_name=name, instrument="UVES",
        instrument_mode="UVES_ECHELLE", night=date(2024, 3, 1), mode="MCALIB", dpr_catg="CALIB",
        raw_type=raw_type, recipe="uves_cal_mbias", mjd_obs=60370.8, mjd_obs_mod=60370.8,
        raw_files=[RawFrame(arcfile="UVES.2024-03-01T18:30:03.000.fits", category=raw_type, mjd_obs=60370.8)],
    )
    return QcScored(
        correlation_id=uuid.uuid4(), ab=ab, status=status, reason="esorex failed" if status == "FAILED" else "",
        products=[Product(name="masterbias_blue.fits", pro_catg="MASTER_BIAS_BLUE", kind="MCALIB", file=FILE)],
        scores=[QcScore(product="masterbias_blue.fits", parameter="QC.OUT1.RON.RAW", value=2.4, score=score,
                        message="RON raw 2.4 ADU within 0.5–5")],
    )


def context(db) -> CertifierContext:
    rules = CertificationRules(instrument_mode="UVES_ECHELLE", seed="s", policies=[
        Policy(raw_types=["SCI_*"], policy="RANDOM", percent=0.001), Policy(raw_types=["*"], policy="NONZERO")])
    return CertifierContext("certifier@test", db, {"UVES_ECHELLE": rules})


async def test_a_green_master_calibration_is_certified_and_flows_on_with_its_products(db):
    [decision] = await on_qc_scored(scored("BIAS_BLUE", 0), context(db))
    assert (decision.decision, decision.policy, decision.decided_by) == (Decision.CERTIFIED, "NONZERO", "auto")
    assert [p.name for p in decision.products] == ["masterbias_blue.fits"]
    async with db.session() as session:
        assert (await get_ab(session, decision.ab.ab_id)).state is AbState.CERTIFIED


async def test_an_outlier_is_held_in_the_review_queue_and_carries_no_products(db):
    event = scored("BIAS_BLUE", 1)
    [decision] = await on_qc_scored(event, context(db))
    assert decision.decision is Decision.REVIEW and decision.products == []
    async with db.session() as session:
        [review] = await read(session, pending_reviews)
    assert review.ab_id == event.ab.ab_id
    assert QcScored.model_validate(review.event).products == event.products


async def test_a_failed_ab_is_rejected_and_never_flows_on(db):
    [decision] = await on_qc_scored(scored("BIAS_BLUE", None, status=ProcessStatus.FAILED), context(db))
    assert decision.decision is Decision.REJECTED and decision.products == []
    assert decision.reason == "processing failed: esorex failed"


async def test_random_sends_the_first_good_science_ab_of_the_night_to_review_and_certifies_later_ones(db):
    ctx = context(db)
    first = (await on_qc_scored(scored("SCI_POINT_BLUE", 0, "first"), ctx))[0]
    again = (await on_qc_scored(scored("SCI_POINT_BLUE", 0, "first"), ctx))[0]
    second = (await on_qc_scored(scored("SCI_POINT_BLUE", 0, "second"), ctx))[0]
    assert first.decision is Decision.REVIEW and again.decision is Decision.REVIEW
    assert second.decision is Decision.CERTIFIED


async def test_a_certified_ab_carries_its_qc_report_to_the_archive(db):
    report = StagedFile(uri="store:sha256/ab/" + "ab" * 32 + "/UVES.qc.png", size_bytes=10, sha256="ab" * 32)
    event = scored("BIAS_BLUE", 0).model_copy(update={"report": report})
    [decision] = await on_qc_scored(event, context(db))
    assert [(p.name, p.pro_catg, p.kind, p.file) for p in decision.products][-1] == (
        "UVES.qc.png", "QC_REPORT", ProductKind.ANCILLARY, report)
