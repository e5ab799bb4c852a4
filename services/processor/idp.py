"""Science ABs (IDP mode): the pipeline's merged spectra become ESO SDP products with previews."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from pathlib import Path

from pydantic import TypeAdapter

from services.processor.jobs import JobStore
from services.processor.plan import staged_path
from services.processor.runner import JobOutcome
from services.processor.science import convert_science_products, read_line_table_qc, read_raw_headers
from services.processor.sdp import SdpRules
from shared import __version__
from shared.contracts import AssociationBlock, CalibrationRole, ProcessingMode, Product, ProductKind
from shared.fileio import write_atomically
from shared.storage import LocalFileStore

SDP_CATEGORY = "SCIENCE.SPECTRUM"
_PRODUCTS = TypeAdapter(list[Product])
PREVIEW_CATEGORY = "ANCILLARY.PREVIEW"


def makes_idps(ab: AssociationBlock, outcome: JobOutcome) -> bool:
    return ab.mode is ProcessingMode.IDP and outcome.successful


async def idp_products(
    ab: AssociationBlock, outcome: JobOutcome, store: LocalFileStore, rules: SdpRules, jobs: JobStore
) -> list[Product]:
    """One SDP spectrum and one preview per arm, stored; DataError when the SDP cannot be made.

    The conversion of a job is kept beside the job's record, so reprocessing an unchanged AB
    reuses it as it reuses the recipe run.
    """
    cache = jobs.root / outcome.record.job_key / f"idp-{_conversion_key(ab, rules)}.json"
    cached = _cached(cache, store)
    if cached is not None:
        return cached
    products = await _converted(ab, outcome, store, rules)
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(cache, _PRODUCTS.dump_json(products))
    return products


def _conversion_key(ab: AssociationBlock, rules: SdpRules) -> str:
    return hashlib.sha256(f"{ab.ab_id}|{__version__}|{rules.model_dump_json()}".encode()).hexdigest()[:16]


def _cached(path: Path, store: LocalFileStore) -> list[Product] | None:
    try:
        products = _PRODUCTS.validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    return products if all(store.exists(p.file) for p in products) else None


async def _converted(ab: AssociationBlock, outcome: JobOutcome, store: LocalFileStore, rules: SdpRules) -> list[Product]:
    with tempfile.TemporaryDirectory(prefix="phoenix-sdp-") as folder:
        converted = await asyncio.to_thread(_convert, ab, outcome, store, rules, Path(folder))
        products = []
        for sdp in converted:
            products.append(Product(name=sdp.path.name, pro_catg=SDP_CATEGORY, kind=ProductKind.IDP,
                                    file=await store.put(sdp.path), qc={"SNR": sdp.snr}))
            products.append(Product(name=sdp.preview_path.name, pro_catg=PREVIEW_CATEGORY, kind=ProductKind.ANCILLARY,
                                    file=await store.put(sdp.preview_path)))
    return products


def _convert(ab: AssociationBlock, outcome: JobOutcome, store: LocalFileStore, rules: SdpRules, out_dir: Path):
    raws = [(raw.arcfile, staged_path(store, raw.arcfile, raw.staged)) for raw in ab.raw_files]
    calibrations = [
        (staged_path(store, c.file, c.staged), c.pro_catg) for c in ab.calibrations if c.role is CalibrationRole.MCALIB
    ]
    products = [(store.path(p.file), p.pro_catg) for p in outcome.record.products if p.file is not None]
    return convert_science_products(
        ab, products, read_raw_headers(raws), read_line_table_qc(calibrations, rules), out_dir, rules
    )
