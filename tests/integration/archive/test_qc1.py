"""The QC1 database: rescoring, and the history statistical thresholds read."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from shared.archive import ArchiveDatabase
from shared.archive.ledger import record_ab_state
from shared.archive.models import AbState
from shared.archive.qc1 import last_certified_values, parameter_trend, qc1_of_ab, record_qc_scores, setting_key_of
from shared.contracts import QcScore
from tests.integration.archive.conftest import make_ab

RON = "QC.OUT1.RON.MASTER"
FIRST_NIGHT = date(2024, 3, 1)


def ron(value: float | None, score: int | None = 0, product: str = "masterbias_blue.fits") -> QcScore:
    return QcScore(product=product, parameter=RON, value=value, unit="ADU", score=score,
                   threshold_set="UVES_ECHELLE@2004-04-01")


async def scored_ab(db: ArchiveDatabase, index: int, value: float | None, state: AbState,
                    binning: str = "1") -> None:
    ab = make_ab(f"AB.{index:03d}", night=FIRST_NIGHT + timedelta(days=index), match_key={"DET.WIN1.BINX": binning})
    async with db.session() as s:
        await record_ab_state(s, ab, state, event_id=uuid.uuid4(), request_id=uuid.uuid4(), service="test")
        await record_qc_scores(s, ab, [ron(value)], measured_at=datetime(2024, 4, 1, tzinfo=UTC))


async def test_rescoring_replaces_the_values_of_the_same_parameter(db: ArchiveDatabase) -> None:
    ab = make_ab()
    async with db.session() as s:
        assert await record_qc_scores(s, ab, [ron(3.9), ron(4.1, product="other.fits")]) == 2
    async with db.session() as s:
        assert await record_qc_scores(s, ab, [ron(9.5, score=1)], setting_key="BINX=1") == 1
    async with db.session() as s:
        values = await qc1_of_ab(s, ab.ab_id)
    assert [(v.product, v.value, v.score, v.setting_key) for v in values] == [
        ("masterbias_blue.fits", 9.5, 1, "BINX=1"),
        ("other.fits", 4.1, 0, "DET.WIN1.BINX=1"),
    ]
    assert values[0].threshold_set == "UVES_ECHELLE@2004-04-01"
    assert values[0].measured_at.tzinfo is not None


async def test_rescoring_the_same_values_writes_nothing(db: ArchiveDatabase) -> None:
    ab, first = make_ab(), datetime(2024, 4, 1, tzinfo=UTC)
    async with db.session() as s:
        assert await record_qc_scores(s, ab, [ron(3.9), ron(None, score=None, product="other.fits")],
                                      measured_at=first) == 2
    async with db.session() as s:
        assert await record_qc_scores(s, ab, [ron(3.9), ron(None, score=None, product="other.fits")]) == 0
        assert await record_qc_scores(s, ab, [ron(3.9), ron(4.0, product="other.fits")]) == 1
    async with db.session() as s:
        values = await qc1_of_ab(s, ab.ab_id)
    assert [(v.product, v.value) for v in values] == [("masterbias_blue.fits", 3.9), ("other.fits", 4.0)]
    assert values[0].measured_at == first, "an unchanged value keeps the time it was measured"


async def test_nothing_to_record(db: ArchiveDatabase) -> None:
    async with db.session() as s:
        assert await record_qc_scores(s, make_ab(), []) == 0


async def test_last_certified_values_before_a_night(db: ArchiveDatabase) -> None:
    # nights 1..10 certified (values 1..10), except night 4 rejected and night 6 unmeasured
    for index in range(1, 11):
        state = AbState.REJECTED if index == 4 else (AbState.INGESTED if index % 2 else AbState.CERTIFIED)
        await scored_ab(db, index, None if index == 6 else float(index), state)
    await scored_ab(db, 11, 11.0, AbState.CERTIFIED, binning="2")
    async with db.session() as s:
        last = await last_certified_values(
            s, "UVES_ECHELLE", "BIAS_BLUE", {RON: 4, "QC.OTHER": 10}, before=FIRST_NIGHT + timedelta(days=9),
            setting_key=setting_key_of({"DET.WIN1.BINX": "1"}),
        )
        other_setting = await last_certified_values(
            s, "UVES_ECHELLE", "BIAS_BLUE", {RON: 10}, before=date(2030, 1, 1), setting_key="DET.WIN1.BINX=2"
        )
        none_asked = await last_certified_values(s, "UVES_ECHELLE", "BIAS_BLUE", {}, before=date(2030, 1, 1))
    assert last == {RON: [8.0, 7.0, 5.0, 3.0], "QC.OTHER": []}
    assert other_setting == {RON: [11.0]}
    assert none_asked == {}


async def test_trend_over_nights(db: ArchiveDatabase) -> None:
    for index in (3, 1, 2, 5):
        await scored_ab(db, index, float(index), AbState.SCORED)
    async with db.session() as s:
        trend = await parameter_trend(
            s, "UVES_ECHELLE", RON, night_from=FIRST_NIGHT + timedelta(days=1), night_to=FIRST_NIGHT + timedelta(days=3),
            raw_type="BIAS_BLUE", setting_key="DET.WIN1.BINX=1",
        )
        elsewhere = await parameter_trend(
            s, "UVES_ECHELLE", RON, night_from=FIRST_NIGHT, night_to=FIRST_NIGHT + timedelta(days=9), raw_type="FLAT"
        )
    assert [(v.night.day, v.value) for v in trend] == [(2, 1.0), (3, 2.0), (4, 3.0)]
    assert elsewhere == []
