"""ProductsReady events from real recipe runs (tests/integration/simulator/chain.py), files in a file store."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from astropy.io import fits

from services.qc.extraction import TRUTH_PRO_CATG
from shared.contracts import AssociationBlock, ProcessStatus, Product, ProductKind, ProductsReady, RawFrame
from shared.storage import FileStore
from tests.integration.qc.sdp import write_sdp
from tests.integration.simulator.chain import RecipeRun

RAW_TYPE_BY_RECIPE = {
    "uves_cal_mbias": "BIAS", "uves_cal_predict": "ARC_LAMP_FORM", "uves_cal_orderpos": "ORDER_FLAT",
    "uves_cal_mflat": "FLAT", "uves_cal_wavecal": "ARC_LAMP", "uves_obs_scired": "SCI_POINT",
}
MASTER_CALIBRATIONS = ("MASTER_BIAS", "MASTER_FLAT", "ORDER_TABLE", "LINE_TABLE", "LINE_GUESS_TAB", "ORDER_GUESS_TAB")
KEPT = (*MASTER_CALIBRATIONS, "RED_SCI_POINT")


def raw_frames(run: RecipeRun) -> list[Path]:
    lines = (run.workdir / "input.sof").read_text().splitlines()
    return [Path(path) for path, tag in (line.split() for line in lines) if tag.split("_")[0] in
            ("BIAS", "ARC", "ORDER", "FLAT", "SCI") and not tag.startswith(("ORDER_GUESS", "MASTER"))]


async def products_ready(run: RecipeRun, arm: str, store: FileStore, night: date, correlation_id: uuid.UUID,
                         label: str = "") -> ProductsReady:
    suffix = "BLUE" if arm == "blue" else "RED"
    raw_type = f"{RAW_TYPE_BY_RECIPE[run.recipe]}_{suffix}"
    raws = raw_frames(run)
    staged = [await store.put(path) for path in raws]
    header = fits.getheader(raws[0])
    products = [await _product(store, path, category) for category, paths in sorted(run.products.items())
                for path in paths if category.startswith(KEPT)]
    if run.recipe == "uves_obs_scired":
        products += await _science_products(run, store, raws[0])
    ab = AssociationBlock(
        ab_id=f"UVES_ECHELLE.{night}.{raw_type}{label}.{uuid.uuid5(uuid.NAMESPACE_URL, str(raws[0])).hex[:8]}",
        ab_name=f"{raws[0].stem}_{run.recipe}.ab", instrument="UVES", instrument_mode="UVES_ECHELLE", night=night,
        mode="IDP", dpr_catg="SCIENCE" if raw_type.startswith("SCI") else "CALIB", raw_type=raw_type,
        recipe=run.recipe, mjd_obs=header["MJD-OBS"], mjd_obs_mod=header["MJD-OBS"],
        raw_match_key={"DET.WIN1.BINX": "2", "INS.GRAT": str(header.get("HIERARCH ESO INS GRAT1 WLEN") or
                                                              header.get("HIERARCH ESO INS GRAT2 WLEN"))},
        raw_files=[RawFrame(arcfile=p.name, category=f"{RAW_TYPE_BY_RECIPE[run.recipe]}_{suffix}",
                            mjd_obs=header["MJD-OBS"], staged=s) for p, s in zip(raws, staged)],
    )
    return ProductsReady(correlation_id=correlation_id, ab=ab, status=ProcessStatus.SUCCESSFUL, products=products)


async def _product(store: FileStore, path: Path, category: str, kind: ProductKind | None = None) -> Product:
    chosen = kind or (ProductKind.MCALIB if category.startswith(MASTER_CALIBRATIONS) else ProductKind.PIPELINE)
    return Product(name=path.name, pro_catg=category, kind=chosen, file=await store.put(path))


async def _science_products(run: RecipeRun, store: FileStore, raw: Path) -> list[Product]:
    """One SDP spectrum per chip (from MERGED + ERRORBAR), and the simulator's truth as an ancillary file."""
    found = []
    for category, paths in run.products.items():
        if category.startswith("MERGED_SCI_POINT_"):
            chip = category.rsplit("_", 1)[1]
            sdp = write_sdp(paths[0], run.product(f"ERRORBAR_SCI_POINT_{chip}"),
                            run.workdir / f"sdp_{chip.lower()}.fits")
            found.append(await _product(store, sdp, f"SCIENCE_SPECTRUM_{chip}", ProductKind.IDP))
    truth = raw.with_name(raw.name.removesuffix(".fits") + ".truth.json")
    if truth.exists():
        found.append(await _product(store, truth, TRUTH_PRO_CATG, ProductKind.ANCILLARY))
    return found
