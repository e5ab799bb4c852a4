"""Science ABs (IDP mode): the pipeline's merged spectra become ESO SDP products with previews."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from pydantic import TypeAdapter

from services.processor.jobs import JobStore
from services.processor.plan import staged_file
from services.processor.runner import JobOutcome
from services.processor.science import convert_science_products, read_line_table_qc, read_raw_headers
from services.processor.sdp import SdpRules
from shared import __version__
from shared.contracts import PREVIEW_CATEGORY, AssociationBlock, CalibrationRole, ProcessingMode, Product, ProductKind
from shared.storage import FileStore

SDP_CATEGORY = "SCIENCE.SPECTRUM"
_PRODUCTS = TypeAdapter(list[Product])


def makes_idps(ab: AssociationBlock, outcome: JobOutcome) -> bool:
    return ab.mode is ProcessingMode.IDP and outcome.successful


async def idp_products(
    ab: AssociationBlock, outcome: JobOutcome, store: FileStore, rules: SdpRules, jobs: JobStore
) -> list[Product]:
    """One SDP spectrum and one preview per arm, stored; DataError when the SDP cannot be made.

    The conversion of a job is kept beside the job's record, so reprocessing an unchanged AB
    reuses it as it reuses the recipe run.
    """
    cache = jobs.document_key(outcome.record.job_key, f"idp-{_conversion_key(ab, rules)}.json")
    cached = await _cached(cache, store)
    if cached is not None:
        return cached
    products = await _converted(ab, outcome, store, rules)
    await store.write(cache, _PRODUCTS.dump_json(products))
    return products


def _conversion_key(ab: AssociationBlock, rules: SdpRules) -> str:
    return hashlib.sha256(f"{ab.ab_id}|{__version__}|{rules.model_dump_json()}".encode()).hexdigest()[:16]


async def _cached(key: str, store: FileStore) -> list[Product] | None:
    document = await store.read(key)
    if document is None:
        return None
    products = _PRODUCTS.validate_json(document)
    return products if all([await store.exists(p.file) for p in products]) else None


async def _converted(ab: AssociationBlock, outcome: JobOutcome, store: FileStore, rules: SdpRules) -> list[Product]:
    raws = [(raw.arcfile, staged_file(raw.arcfile, raw.staged)) for raw in ab.raw_files]
    calibrations = [(staged_file(c.file, c.staged), c.pro_catg) for c in ab.calibrations
                    if c.role is CalibrationRole.MCALIB]
    pipeline = [(p.file, p.pro_catg) for p in outcome.record.products if p.file is not None]
    needed = [file for _, file in raws] + [file for file, _ in calibrations + pipeline]
    with store.scratch("sdp-") as folder:
        async with store.local_copies(needed) as local:
            converted = await asyncio.to_thread(
                _convert, ab, [(name, local[f.uri]) for name, f in raws], [(local[f.uri], c) for f, c in calibrations],
                [(local[f.uri], c) for f, c in pipeline], rules, folder,
            )
            products = []
            for sdp in converted:
                products.append(Product(name=sdp.path.name, pro_catg=SDP_CATEGORY, kind=ProductKind.IDP,
                                        file=await store.put(sdp.path), qc={"SNR": sdp.snr}))
                products.append(Product(name=sdp.preview_path.name, pro_catg=PREVIEW_CATEGORY,
                                        kind=ProductKind.ANCILLARY, file=await store.put(sdp.preview_path)))
    return products


def _convert(ab: AssociationBlock, raws: list[tuple[str, Path]], calibrations: list[tuple[Path, str]],
             products: list[tuple[Path, str]], rules: SdpRules, out_dir: Path):
    return convert_science_products(
        ab, products, read_raw_headers(raws), read_line_table_qc(calibrations, rules), out_dir, rules
    )
