import uuid
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from services.qc.adapters.products import ProductReader
from services.qc.cache import QcCache
from services.qc.dictionary import parse_dictionary
from services.qc.service import QcContext, load_all_thresholds, on_products_ready
from services.qc.settings import QcSettings
from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.ledger import get_ab
from shared.archive.models import AbState
from shared.archive.qc1 import qc1_of_ab
from shared.contracts import AssociationBlock, ProcessStatus, Product, ProductsReady, RawFrame
from tests.support.storage import folder_store, stored_path

DICTIONARY = parse_dictionary("Parameter Name: QC OUTi RON RAW\nType: double\nUnit: ADU\n\n"
                              "Parameter Name: QC DID\nType: string\n")


@pytest.fixture
async def ctx(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/archive.db"
    await upgrade_to_head(url)
    async with ArchiveDatabase(url) as db:
        store = folder_store(tmp_path / "store")
        yield QcContext("qc@test", QcSettings(), store, db, {"UVES_ECHELLE": DICTIONARY}, load_all_thresholds(), QcCache(store))


def ab(night: date = date(2024, 3, 1)) -> AssociationBlock:
    return AssociationBlock(
        ab_id="UVES_ECHELLE.2024-03-01.BIAS_BLUE.0a1b2c3d", ab_name="x", instrument="UVES",
        instrument_mode="UVES_ECHELLE", night=night, mode="MCALIB", dpr_catg="CALIB", raw_type="BIAS_BLUE",
        recipe="uves_cal_mbias", mjd_obs=60370.8, mjd_obs_mod=60370.8,
        raw_files=[RawFrame(arcfile="UVES.2024-03-01T18:30:03.000.fits", category="BIAS_BLUE", mjd_obs=60370.8)],
    )


async def master_bias(ctx: QcContext, tmp_path: Path, **qc: object) -> Product:
    path = tmp_path / "masterbias_blue.fits"
    hdu = fits.PrimaryHDU(np.zeros((4, 4), dtype=np.float32))
    for key, value in qc.items():
        hdu.header[f"HIERARCH ESO {key}"] = value
    hdu.writeto(path, overwrite=True)
    return Product(name=path.name, pro_catg="MASTER_BIAS_BLUE", kind="MCALIB", file=await ctx.store.put(path))


async def test_a_failed_result_passes_through_with_its_reason_unscored(ctx):
    event = ProductsReady(correlation_id=uuid.uuid4(), ab=ab(), status=ProcessStatus.FAILED, reason="esorex exit 1")
    [out] = await on_products_ready(event, ctx)
    assert (out.status, out.reason, out.scores, out.report) == (ProcessStatus.FAILED, "esorex exit 1", [], None)
    async with ctx.db.session() as session:
        assert await get_ab(session, event.ab.ab_id) is None, "the processor records PROCESSED; FAILED is the ingestor's"


async def test_products_are_scored_stored_in_qc1_and_reported(ctx, tmp_path):
    product = await master_bias(ctx, tmp_path, **{"QC OUT1 RON RAW": 2.4, "QC OUT1 RON MASTER": 9.0,
                                                  "PRO DATAMED": 178.0, "QC DID": "UVES-1.14"})
    event = ProductsReady(correlation_id=uuid.uuid4(), ab=ab(), status=ProcessStatus.SUCCESSFUL, products=[product])
    [out] = await on_products_ready(event, ctx)
    scores = {s.parameter: s for s in out.scores}
    assert "QC.DID" not in scores, "the dictionary says QC DID is an identifier"
    assert scores["QC.OUT1.RON.RAW"].score == 0 and scores["QC.OUT1.RON.RAW"].unit == "ADU"
    assert scores["QC.OUT1.RON.MASTER"].score == 1
    assert scores["QC.OUT1.RON.MASTER"].message == "RON master 9 ADU above 0.2–4"
    assert {s.threshold_set for s in out.scores} == {"UVES_ECHELLE-2004.1"}
    assert stored_path(ctx.store, out.report).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    async with ctx.db.session() as session:
        stored = {row.parameter: row.score for row in await qc1_of_ab(session, event.ab.ab_id)}
        assert stored == {name: s.score for name, s in scores.items()}
        assert (await get_ab(session, event.ab.ab_id)).state is AbState.SCORED


async def test_a_missing_mandatory_keyword_and_junk_values_do_not_crash(ctx, tmp_path):
    product = await master_bias(ctx, tmp_path, **{"QC OUT1 RON MASTER": "not measured"})
    event = ProductsReady(correlation_id=uuid.uuid4(), ab=ab(), status=ProcessStatus.SUCCESSFUL, products=[product])
    [out] = await on_products_ready(event, ctx)
    messages = [s.message for s in out.scores]
    assert "RON master unscored: not a number ('not measured')" in messages
    assert any(m.startswith("mandatory parameter missing: RON raw") for m in messages)


async def test_a_night_before_every_threshold_set_is_unscored_with_the_reason(ctx, tmp_path):
    product = await master_bias(ctx, tmp_path, **{"QC OUT1 RON RAW": 2.4})
    event = ProductsReady(correlation_id=uuid.uuid4(), ab=ab(date(2001, 1, 1)), status=ProcessStatus.SUCCESSFUL,
                          products=[product])
    [out] = await on_products_ready(event, ctx)
    assert [s.message for s in out.scores] == ["QC.OUT1.RON.RAW unscored: no threshold set is valid for night 2001-01-01"]


async def test_an_unchanged_ab_scored_again_reuses_its_measurements_and_report(ctx, tmp_path, monkeypatch):
    product = await master_bias(ctx, tmp_path, **{"QC OUT1 RON RAW": 2.4, "PRO DATAMED": 178.0})
    event = ProductsReady(correlation_id=uuid.uuid4(), ab=ab(), status=ProcessStatus.SUCCESSFUL, products=[product])
    [first] = await on_products_ready(event, ctx)
    measured, scored = [], []
    real_measure = ProductReader.measure
    monkeypatch.setattr(ProductReader, "measure", lambda self, *a: measured.append(1) or real_measure(self, *a))
    monkeypatch.setattr("services.qc.service.score_measurements", lambda *a, **k: scored.append(1) or [])
    [again] = await on_products_ready(event, ctx)
    assert measured == [] and scored == [], "neither measured, scored nor drawn again"
    assert (again.scores, again.report) == (first.scores, first.report)


async def test_an_ab_is_scored_again_when_its_threshold_set_changed(ctx, tmp_path):
    product = await master_bias(ctx, tmp_path, **{"QC OUT1 RON RAW": 2.4, "PRO DATAMED": 178.0})
    event = ProductsReady(correlation_id=uuid.uuid4(), ab=ab(), status=ProcessStatus.SUCCESSFUL, products=[product])
    [first] = await on_products_ready(event, ctx)
    rules = ctx.thresholds["UVES_ECHELLE"]
    narrowed = [s.model_copy(update={"thresholds": [t.model_copy(update={"low": 2.5, "high": 2.6})
                                                    if t.parameter == "QC.OUT?.RON.RAW" else t for t in s.thresholds]})
                for s in rules.sets]
    ctx.thresholds["UVES_ECHELLE"] = rules.model_copy(update={"sets": narrowed})
    [again] = await on_products_ready(event, ctx)
    ron = {s.parameter: s.score for s in again.scores}["QC.OUT1.RON.RAW"]
    assert ron == 1 and {s.parameter: s.score for s in first.scores}["QC.OUT1.RON.RAW"] != 1
