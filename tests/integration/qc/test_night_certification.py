"""A simulated night through the real UVES pipeline, then QC and the certifier, on SQLite and PostgreSQL.

The good night's calibrations are certified; an underexposed flat and a saturated science frame
(derived from the same night) end in REVIEW; a recipe that fails ends REJECTED.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest

from services.certifier.service import CertifierContext, load_all_rules, on_qc_scored
from services.qc.cache import QcCache
from services.qc.service import QcContext, load_all_dictionaries, load_all_thresholds, on_products_ready
from services.qc.settings import QcSettings
from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.database import read
from shared.archive.qc1 import qc1_of_ab
from shared.archive.review_queue import pending_reviews
from shared.contracts import Certified, Decision, ProcessStatus, ProductsReady
from tests.integration.qc.degrade import degraded_night
from tests.integration.qc.products import products_ready
from tests.integration.simulator.chain import RecipeRun, run_recipe, run_step
from tests.support.fixtures import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.support.storage import folder_store

pytestmark = [pytest.mark.esorex, pytest.mark.slow]

NIGHT = date(2024, 3, 1)
BAD_NIGHT = date(2024, 3, 2)


@pytest.fixture(scope="module")
def reductions(small_night_raw: Path, small_night_reductions: dict[str, dict[str, RecipeRun]],
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, RecipeRun]]]:
    """The good small night (the session's cascade) and two nights derived from it on the blue arm:
    the flat underexposed, the science frame saturated. Every other frame of theirs is the good
    night's, so only the recipe of the changed frames runs again, on the good night's calibrations."""
    root = tmp_path_factory.mktemp("qc-night")
    runs = {"good": small_night_reductions}
    for name, dpr_type, factor, recipe in (("underflat", "LAMP,FLAT", 0.01, "uves_cal_mflat"),
                                           ("saturated", "OBJECT,POINT", 60.0, "uves_obs_scired")):
        night = root / name / str(NIGHT)
        degraded_night(small_night_raw, night, dpr_type, chips=1, factor=factor)
        runs[name] = {"blue": {recipe: run_step(night, "blue", recipe, small_night_reductions["blue"],
                                                 root / f"{name}-chain")}}
    return runs


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path):
    url = (f"sqlite+aiosqlite:///{tmp_path}/archive.db" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    await upgrade_to_head(url)
    async with ArchiveDatabase(url) as database:
        yield database


async def qc_and_certify(event: ProductsReady, qc: QcContext, certifier: CertifierContext) -> Certified:
    [scored] = await on_products_ready(event, qc)
    [decision] = await on_qc_scored(scored, certifier)
    return decision


async def test_good_abs_are_certified_and_bad_ones_held_or_rejected(reductions, db, tmp_path):
    store = folder_store(tmp_path / "store")
    qc = QcContext("qc@test", QcSettings(), store, db, load_all_dictionaries(["UVES_ECHELLE"]), load_all_thresholds(),
                   QcCache(store))
    certifier = CertifierContext("certifier@test", db, load_all_rules())
    request = uuid.uuid4()
    label = f".{uuid.uuid4().hex[:6]}"

    decisions: dict[str, Certified] = {}
    for arm, runs in reductions["good"].items():
        for run in runs.values():
            event = await products_ready(run, arm, qc.store, NIGHT, request, label)
            decisions[event.ab.raw_type] = await qc_and_certify(event, qc, certifier)

    calibrations = {raw_type: d for raw_type, d in decisions.items() if not raw_type.startswith("SCI")}
    assert len(calibrations) == 10
    for raw_type, decision in calibrations.items():
        assert decision.decision is Decision.CERTIFIED, f"{raw_type}: {decision.reason}"
        assert decision.products, "a certified master calibration flows on with its products"
    for raw_type in ("SCI_POINT_BLUE", "SCI_POINT_RED"):
        science = decisions[raw_type]
        # NONZERO (the shipped policy for science): every scored parameter green → certified.
        assert science.decision is Decision.CERTIFIED, f"{raw_type}: {science.reason}"
        assert science.products, "a certified science AB flows on with its products"

    bad = {
        "FLAT_BLUE": await products_ready(reductions["underflat"]["blue"]["uves_cal_mflat"], "blue", qc.store,
                                          BAD_NIGHT, request, label + ".underflat"),
        "SCI_POINT_BLUE": await products_ready(reductions["saturated"]["blue"]["uves_obs_scired"], "blue", qc.store,
                                               BAD_NIGHT, request, label + ".saturated"),
    }
    flat = await qc_and_certify(bad["FLAT_BLUE"], qc, certifier)
    assert flat.decision is Decision.REVIEW and "flat level" in flat.reason and "below" in flat.reason, flat.reason
    saturated = await qc_and_certify(bad["SCI_POINT_BLUE"], qc, certifier)
    assert saturated.decision is Decision.REVIEW and "saturated raw pixels" in saturated.reason, saturated.reason

    failed = await failed_bias(tmp_path, bad["FLAT_BLUE"])
    rejected = await qc_and_certify(failed, qc, certifier)
    assert rejected.decision is Decision.REJECTED and rejected.products == []
    assert rejected.reason.startswith("processing failed:")

    async with db.session() as session:
        held = {review.ab_id for review in await read(session, pending_reviews, limit=1000)}
        stored = await qc1_of_ab(session, bad["SCI_POINT_BLUE"].ab.ab_id)
    assert {flat.ab.ab_id, saturated.ab.ab_id} <= held
    assert rejected.ab.ab_id not in held
    assert any(row.parameter == "SDP.RV.OFFSET" and abs(row.value) < 0.1 for row in stored)
    assert any(row.parameter == "RAW.SATURATED.FRACTION" and row.score == 1 for row in stored)


async def failed_bias(tmp_path: Path, template: ProductsReady) -> ProductsReady:
    """uves_cal_mbias on a flat frame tagged as nothing it knows: esorex fails, as a real run can."""
    raw = next(iter(template.ab.raw_files))
    run = run_recipe("uves_cal_mbias", [], tmp_path / "failing-mbias")
    assert run.returncode != 0
    ab = template.ab.model_copy(update={"ab_id": template.ab.ab_id + ".bias", "raw_type": "BIAS_BLUE",
                                        "recipe": "uves_cal_mbias", "raw_files": [raw]})
    return ProductsReady(correlation_id=template.correlation_id, ab=ab, status=ProcessStatus.FAILED,
                         reason=run.stdout.strip().splitlines()[-1][:300])
