"""A simulated small night through the processor handler, both arms: the MCALIB chain
(mbias → predict → orderpos → mflat → wavecal) and then science, each recipe fed with the
products of the ones before, as the association would offer them."""

from __future__ import annotations

import pytest

from services.processor.service import on_data_staged
from shared.contracts import ProcessingMode, ProcessStatus, ProductKind, ProductsReady
from tests.integration.simulator.chain import classify
from tests.support.storage import stored_path
from tests.unit.processor.support import staged_event
from tools.simulator.thar import write_line_refer_table

pytestmark = [pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(900)]

CHIPS = {"blue": ("BLUE",), "red": ("REDL", "REDU")}
# recipe, raw tag (without arm), PRO.CATG (without chip) of the calibrations it takes
CHAIN = (
    ("uves_cal_mbias", "BIAS", ()),
    ("uves_cal_predict", "ARC_LAMP_FORM", ("LINE_REFER_TABLE",)),
    ("uves_cal_orderpos", "ORDER_FLAT", ("ORDER_GUESS_TAB",)),
    ("uves_cal_mflat", "FLAT", ("MASTER_BIAS", "ORDER_TABLE")),
    ("uves_cal_wavecal", "ARC_LAMP", ("MASTER_BIAS", "ORDER_TABLE", "LINE_GUESS_TAB", "LINE_REFER_TABLE")),
)
SCIENCE = ("uves_obs_scired", "SCI_POINT", ("MASTER_BIAS", "ORDER_TABLE", "LINE_TABLE", "MASTER_FLAT"))


async def run_ab(ctx, night, arm, step, products, mode=ProcessingMode.MCALIB, dpr_catg="CALIB") -> ProductsReady:
    recipe, raw_tag, needs = step
    raws = classify(night, arm)[raw_tag][: 1 if raw_tag == "SCI_POINT" else None]
    calibrations = [(path, category) for category, path in products.items() if _base(category) in needs]
    event = await staged_event(
        ctx.store, recipe, [(p, f"{raw_tag}_{arm.upper()}") for p in raws], calibrations, mode=mode, dpr_catg=dpr_catg
    )
    [ready] = await on_data_staged(event, ctx)
    assert ready.status is ProcessStatus.SUCCESSFUL, f"{recipe}: {ready.reason}"
    for product in ready.products:
        products[product.pro_catg] = stored_path(ctx.store, product.file)
    return ready


def _base(category: str) -> str:
    return category if category == "LINE_REFER_TABLE" else category.rsplit("_", 1)[0]


@pytest.mark.parametrize("arm", ["blue", "red"])
async def test_a_simulated_night_gives_master_calibrations_and_science(ctx, small_night_raw, tmp_path, arm):
    products = {"LINE_REFER_TABLE": write_line_refer_table(tmp_path / "line_refer_table.fits")}
    readies = {step[0]: await run_ab(ctx, small_night_raw, arm, step, products) for step in CHAIN}
    for chip in CHIPS[arm]:
        bias = _qc(readies["uves_cal_mbias"], f"MASTER_BIAS_{chip}")
        assert 1.0 < next(v for k, v in bias.items() if k.endswith("RON.MASTER")) < 10.0
        guess = _qc(readies["uves_cal_predict"], f"LINE_GUESS_TAB_{chip}")
        assert guess["QC.MODEL.NLINSEL"] / guess["QC.MODEL.NLINALL"] > 0.85
        orders = _qc(readies["uves_cal_orderpos"], f"ORDER_TABLE_{chip}")
        assert orders["QC.ORD.NDET"] == orders["QC.ORD.NPRED"] > 10
        lines = _qc(readies["uves_cal_wavecal"], f"LINE_TABLE_{chip}")
        assert lines["QC.NLINSOL"] >= 300 and 40_000 < lines["QC.RESOLMED"] < 95_000  # arcs through 0.4"/0.8"
        assert f"MASTER_FLAT_{chip}" in products
    masters = {p.pro_catg for ready in readies.values() for p in ready.products if p.kind is ProductKind.MCALIB}
    kinds = ("MASTER_BIAS", "ORDER_TABLE", "MASTER_FLAT", "LINE_TABLE")
    assert {f"{kind}_{chip}" for kind in kinds for chip in CHIPS[arm]} <= masters

    science = await run_ab(ctx, small_night_raw, arm, SCIENCE, products, mode=ProcessingMode.IDP, dpr_catg="SCIENCE")
    by_kind = {kind: sorted(p.pro_catg for p in science.products if p.kind is kind) for kind in ProductKind}
    assert by_kind[ProductKind.PIPELINE] == sorted(
        f"{kind}_SCI_POINT_{chip}" for kind in ("ERRORBAR", "MERGED") for chip in CHIPS[arm]
    )
    assert by_kind[ProductKind.IDP] == ["SCIENCE.SPECTRUM"], "one SDP spectrum per arm"
    assert by_kind[ProductKind.ANCILLARY] == ["ANCILLARY.PREVIEW", "PROCESSING_LOG"]


def _qc(ready: ProductsReady, category: str) -> dict:
    return next(p.qc for p in ready.products if p.pro_catg == category)
