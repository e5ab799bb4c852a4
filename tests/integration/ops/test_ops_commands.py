"""`phoenix campaign`, `status` and `reconcile` against a real broker and a SQLite ledger in tmp.

Progress and staleness are made by writing ledger rows directly; what the commands publish is
read back from the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from services.ingestor import metrics as ingestor_metrics
from shared.archive import ArchiveDatabase, ledger, upgrade_to_head
from shared.archive.database import read
from shared.archive.models import AbRecord, AbState, Campaign, Request, RequestState
from shared.archive.settings import sqlite_url
from shared.archive.types import utc_now
from shared.campaigns import campaign_night_counts, rules_version
from shared.cli import main
from shared.contracts import AssociationBlock, DateRequested, ProcessingMode, RawFrame
from shared.pipeline_install import pipeline_version
from shared.settings import KafkaSettings
from tests.support.bus import Broker, env_for, read_topic

T = TypeVar("T")
MODE = "UVES_ECHELLE"
NIGHTS = [date(2015, 2, 23), date(2015, 2, 24), date(2015, 2, 25)]
LONG_AGO = timedelta(hours=2)


@pytest.fixture
def ledger_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("PHOENIX_DATABASE_URL", raising=False)
    monkeypatch.setenv("PHOENIX_DATA_DIR", str(tmp_path))
    return sqlite_url(tmp_path / "phoenix.db")


@pytest.fixture
def kafka(broker: Broker, ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> KafkaSettings:
    settings = broker.settings()
    for name, value in env_for(settings).items():
        monkeypatch.setenv(name, value)
    return settings


def in_ledger(url: str, work: Callable[[ArchiveDatabase], Awaitable[T]]) -> T:
    async def go() -> T:
        await upgrade_to_head(url)
        async with ArchiveDatabase(url) as database:
            return await work(database)
    return asyncio.run(go())


def phoenix(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def make_ab(night: date, name: str, *, depends_on: tuple[str, ...] = (), dpr_catg: str = "CALIB") -> AssociationBlock:
    ab_id = f"{MODE}.{night}.{name}"
    return AssociationBlock(
        ab_id=ab_id, ab_name=f"{ab_id}.ab", instrument="UVES", instrument_mode=MODE, night=night,
        mode=ProcessingMode.IDP if dpr_catg == "SCIENCE" else ProcessingMode.MCALIB, dpr_catg=dpr_catg,
        raw_type=name, recipe="uves_cal_mbias", mjd_obs=57076.9, mjd_obs_mod=57076.9,
        raw_match_key={"DET.WIN1.BINX": "2"}, raw_files=[RawFrame(arcfile=f"{ab_id}.fits", category=name, mjd_obs=57076.9)],
        depends_on=list(depends_on),
    )


async def record_night(database: ArchiveDatabase, request: DateRequested, *, rules: str, pipeline: str,
                       request_state: RequestState, abs: dict[str, AbState], at=None) -> None:
    """What the fetcher and the ingestor would have written for `request`."""
    async with database.session() as session:
        await ledger.record_request(session, request, rules_version=rules, pipeline_version=pipeline)
        for name, state in abs.items():
            ab = make_ab(request.night, name)
            for step in _steps_to(state):
                await ledger.record_ab_state(session, ab, step, event_id=uuid.uuid4(),
                                             request_id=request.request_id, service="test", at=at)
        await ledger.set_request_state(session, request.request_id, request_state)


def _steps_to(state: AbState) -> list[AbState]:
    """The states the chain records on the way from STAGED to `state`."""
    chain = [AbState.STAGED, AbState.PROCESSED, AbState.SCORED, AbState.CERTIFIED]
    return chain[:chain.index(state) + 1] if state in chain else [AbState.STAGED, state]


def as_request(document: dict) -> DateRequested:
    return DateRequested.model_validate(document)


@pytest.mark.kafka
def test_campaign_publishes_each_night_then_skips_the_ones_done(
    kafka: KafkaSettings, ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["campaign", MODE, "--from", "2015-02-23", "--to", "2015-02-25", "--mode", "COMPLETE", "--json"]
    first = json.loads(phoenix(capsys, *args))
    campaign_id = first["campaign_id"]
    assert campaign_id == "UVES_ECHELLE-2015-02-23-2015-02-25-COMPLETE"
    assert [p["night"] for p in first["published"]] == [n.isoformat() for n in NIGHTS] and not first["skipped"]
    published = [as_request(d) for d in asyncio.run(read_topic(kafka, "date-requested", 3, settle_seconds=1))]
    assert sorted(r.night for r in published) == NIGHTS
    assert {(r.campaign_id, r.mode, r.reprocess) for r in published} == {(campaign_id, ProcessingMode.COMPLETE, False)}
    by_night = {r.night: r for r in published}

    # Night 1 done under today's rules and pipeline; night 2 done under an older rule set; night 3 still running.
    rules, pipeline = rules_version(MODE, NIGHTS[0]), pipeline_version()
    in_ledger(ledger_url, lambda db: record_night(db, by_night[NIGHTS[0]], rules=rules, pipeline=pipeline,
                                                  request_state=RequestState.DONE,
                                                  abs={"BIAS_BLUE": AbState.INGESTED, "SCI_POINT_BLUE": AbState.REJECTED}))
    in_ledger(ledger_url, lambda db: record_night(db, by_night[NIGHTS[1]], rules="2001.1", pipeline=pipeline,
                                                  request_state=RequestState.DONE, abs={"BIAS_BLUE": AbState.INGESTED}))
    in_ledger(ledger_url, lambda db: record_night(db, by_night[NIGHTS[2]], rules=rules, pipeline=pipeline,
                                                  request_state=RequestState.FETCHED, abs={"BIAS_BLUE": AbState.STAGED}))

    again = json.loads(phoenix(capsys, *args))
    assert again["campaign_id"] == campaign_id and again["created"] is False
    assert [s["night"] for s in again["skipped"]] == ["2015-02-23"]
    assert str(by_night[NIGHTS[0]].request_id) in again["skipped"][0]["reason"]
    assert [p["night"] for p in again["published"]] == ["2015-02-24", "2015-02-25"]

    text = phoenix(capsys, *args[:-1], "--reprocess")
    assert f"campaign {campaign_id} (already recorded)" in text
    assert "3 night(s) published, 0 skipped" in text
    documents = asyncio.run(read_topic(kafka, "date-requested", 8, settle_seconds=1))
    assert len(documents) == 8
    assert sum(1 for d in documents if d["reprocess"]) == 3

    # The same id for other nights is refused rather than silently reused.
    assert main(["campaign", MODE, "--from", "2015-02-23", "--to", "2015-02-24", "--id", campaign_id]) == 2


def test_status_reports_nights_abs_and_eta_from_the_ledger(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = "status-test"

    async def seed(database: ArchiveDatabase) -> None:
        async with database.session() as session:
            await ledger.record_campaign(session, campaign_id, MODE, NIGHTS[0], NIGHTS[2], ProcessingMode.IDP)
        done = DateRequested(correlation_id=uuid.uuid4(), instrument_mode=MODE, night=NIGHTS[0], campaign_id=campaign_id)
        running = DateRequested(correlation_id=uuid.uuid4(), instrument_mode=MODE, night=NIGHTS[1],
                                campaign_id=campaign_id)
        await record_night(database, done, rules="r", pipeline="p", request_state=RequestState.DONE,
                           abs={"BIAS_BLUE": AbState.INGESTED, "FLAT_BLUE": AbState.FAILED})
        await record_night(database, running, rules="r", pipeline="p", request_state=RequestState.FETCHED,
                           abs={"BIAS_BLUE": AbState.INGESTED, "FLAT_BLUE": AbState.STAGED, "ARC_LAMP_BLUE": AbState.SCORED})

    in_ledger(ledger_url, seed)
    report = json.loads(phoenix(capsys, "status", "--campaign", campaign_id, "--json"))
    assert report["campaign"]["campaign_id"] == campaign_id
    nights = {n["night"]: n for n in report["nights"]}
    assert nights["2015-02-23"]["state"] == "FAILED"  # finished, with a FAILED AB
    assert nights["2015-02-23"]["ab_states"] == {"FAILED": 1, "INGESTED": 1}
    assert nights["2015-02-24"]["state"] == "PROCESSING"
    assert (nights["2015-02-24"]["abs"], nights["2015-02-24"]["abs_final"]) == (3, 1)
    assert nights["2015-02-25"] == {**nights["2015-02-25"], "state": "PENDING", "request_id": None, "abs": 0}
    totals = report["totals"]
    assert totals["nights_by_state"] == {"PENDING": 1, "PROCESSING": 1, "DONE": 0, "FAILED": 1}
    assert (totals["abs"], totals["abs_final"], totals["abs_failed"]) == (5, 3, 1)
    # 2 still running + the pending night counted as the mean of the two known nights (2.5 ABs).
    assert totals["abs_remaining_estimate"] == 4.5
    assert totals["abs_per_minute"] > 0 and totals["eta_seconds"] >= 0

    overview = json.loads(phoenix(capsys, "status", "--json"))
    assert [c["campaign"]["campaign_id"] for c in overview["campaigns"]] == [campaign_id]
    assert [r["night"] for r in overview["unfinished_requests"]] == ["2015-02-24"]
    table = phoenix(capsys, "status", "--campaign", campaign_id)
    assert "2015-02-24" in table and "ETA" in table and "3/5 final" in table

    # The gauge the Grafana dashboard reads, refreshed by the ingestor from the same ledger.
    async def gauge(database: ArchiveDatabase) -> dict:
        async with database.session() as session:
            counts = await read(session, campaign_night_counts)
        task = asyncio.create_task(ingestor_metrics.refresh_campaign_nights(database, interval_seconds=0.05))
        await asyncio.sleep(0.3)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # its query ends before the database closes
        return counts

    assert in_ledger(ledger_url, gauge)[campaign_id] == {"PENDING": 1, "PROCESSING": 1, "DONE": 0, "FAILED": 1}
    for state, nights_in_state in {"PENDING": 1, "PROCESSING": 1, "DONE": 0, "FAILED": 1}.items():
        labels = {"campaign": campaign_id, "state": state}
        assert REGISTRY.get_sample_value("phoenix_campaign_nights", labels) == nights_in_state


@pytest.mark.kafka
def test_reconcile_republishes_a_stalled_request_a_lost_night_and_a_stalled_ab(
    kafka: KafkaSettings, ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = "reconcile-test"
    stalled = DateRequested(correlation_id=uuid.uuid4(), instrument_mode=MODE, night=NIGHTS[0],
                            mode=ProcessingMode.COMPLETE, campaign_id=campaign_id, priority=7)
    other = DateRequested(correlation_id=uuid.uuid4(), instrument_mode=MODE, night=NIGHTS[2])
    bias = make_ab(NIGHTS[2], "BIAS_RED")
    science = make_ab(NIGHTS[2], "SCI_POINT_RED", depends_on=(bias.ab_id,), dpr_catg="SCIENCE")
    fresh = make_ab(NIGHTS[2], "FLAT_RED")
    old = utc_now() - LONG_AGO

    async def seed(database: ArchiveDatabase) -> None:
        async with database.session() as session:
            await ledger.record_campaign(session, campaign_id, MODE, NIGHTS[0], NIGHTS[1], ProcessingMode.COMPLETE)
            await ledger.record_request(session, stalled, rules_version="2024.1", pipeline_version="6")
            await ledger.record_request(session, other)
            await ledger.set_request_state(session, other.request_id, RequestState.FETCHED)
            await session.execute(update(Request).where(Request.request_id == stalled.request_id).values(updated_at=old))
            await session.execute(update(Campaign).values(created_at=old))
            for ab, state in ((bias, AbState.STAGED), (bias, AbState.PROCESSED), (science, AbState.WAITING)):
                await ledger.record_ab_state(session, ab, state, event_id=uuid.uuid4(), request_id=other.request_id,
                                             service="test", at=old)
            await ledger.record_ab_state(session, fresh, AbState.STAGED, event_id=uuid.uuid4(),
                                         request_id=other.request_id, service="test")

    in_ledger(ledger_url, seed)

    dry = phoenix(capsys, "reconcile", "--dry-run")
    assert f"would republish request {stalled.request_id}" in dry
    assert f"would republish data-staged for {bias.ab_id}" in dry and fresh.ab_id not in dry
    assert asyncio.run(read_topic(kafka, "date-requested", 1, timeout_seconds=3)) == []

    done = json.loads(phoenix(capsys, "reconcile", "--older-than", "30", "--json"))
    assert [r["request_id"] for r in done["requests"]] == [str(stalled.request_id)]
    assert [(r["night"], r["campaign_id"]) for r in done["new_requests"]] == [("2015-02-24", campaign_id)]
    assert [a["ab_id"] for a in done["abs"]] == [bias.ab_id]
    assert done["waiting_releasable"] == []  # its prerequisite is not final yet

    requests = [as_request(d) for d in asyncio.run(read_topic(kafka, "date-requested", 2, settle_seconds=1))]
    again = next(r for r in requests if r.night == NIGHTS[0])
    assert (again.request_id, again.mode, again.campaign_id, again.priority) == (
        stalled.request_id, ProcessingMode.COMPLETE, campaign_id, 7)
    assert next(r for r in requests if r.night == NIGHTS[1]).request_id != stalled.request_id
    staged = asyncio.run(read_topic(kafka, "data-staged", 1, settle_seconds=1))
    assert len(staged) == 1
    assert staged[0]["correlation_id"] == str(other.request_id)
    assert AssociationBlock.model_validate(staged[0]["ab"]) == bias

    # Once its prerequisite is final (and quiet), the WAITING AB is reported, not published.
    async def bias_ingested(database: ArchiveDatabase) -> None:
        async with database.session() as session:
            await ledger.record_ab_state(session, bias, AbState.INGESTED, event_id=uuid.uuid4(),
                                         request_id=other.request_id, service="test", at=old)
            await session.execute(update(AbRecord).where(AbRecord.ab_id == bias.ab_id).values(updated_at=old))

    in_ledger(ledger_url, bias_ingested)
    report = phoenix(capsys, "reconcile", "--dry-run")
    assert f"WAITING {science.ab_id}" in report and "1 WAITING AB(s) releasable" in report
