"""Reprocessing an unchanged AB: QC measured and drawn before is reused, keyed by what it depends on.

Kept as small documents under `qc/` in the file store, so every QC replica on any host finds
them. Measurements depend only on the products' content (and the raw frames for saturation), so they
are kept by those checksums. Scores are kept by everything scoring reads: the measurements, the
threshold set (its content, not just its version), the RAW_TYPE, the products and the certified
history of statistically thresholded parameters, which is read afresh each time. The report is
reused only when the scores are the same too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from pydantic import TypeAdapter

from services.qc.extraction import Measurement
from services.qc.thresholds import ThresholdSet
from shared import __version__
from shared.contracts import ProductsReady, QcScore, StagedFile
from shared.storage import FileStore

_SCORES = TypeAdapter(list[QcScore])
QC_PREFIX = "qc"


def measurement_key(event: ProductsReady, wanted_raw: set[str]) -> str:
    products = sorted((p.name, p.pro_catg, p.file.sha256) for p in event.products)
    raws = sorted(r.staged.sha256 for r in event.ab.raw_files if r.staged) if wanted_raw else []
    return _digest([event.ab.ab_id, products, raws, sorted(wanted_raw), __version__])


def scores_key(measured: str, thresholds: ThresholdSet | None, raw_type: str, products: list[tuple[str, str]],
               histories: Mapping[str, list[float]], no_set_reason: str) -> str:
    rules = None if thresholds is None else hashlib.sha256(thresholds.model_dump_json().encode()).hexdigest()
    return _digest([measured, rules, raw_type, products, histories, no_set_reason])


def report_key(measured: str, scores: list[QcScore]) -> str:
    return _digest([measured, hashlib.sha256(_SCORES.dump_json(scores)).hexdigest()])


class QcCache:
    def __init__(self, store: FileStore) -> None:
        self.store = store

    async def measurements(self, key: str) -> list[Measurement] | None:
        document = await self._read(f"{key}.measurements.json")
        return None if document is None else [Measurement(**item) for item in document]

    async def save_measurements(self, key: str, measurements: list[Measurement]) -> None:
        # vars, not dataclasses.asdict, which deep-copies every value of ~330 measurements per AB
        await self._write(f"{key}.measurements.json", [vars(m) for m in measurements])

    async def scores(self, key: str) -> list[QcScore] | None:
        document = await self.store.read(f"{QC_PREFIX}/{key}.scores.json")
        return None if document is None else _SCORES.validate_json(document)

    async def save_scores(self, key: str, scores: list[QcScore]) -> None:
        await self.store.write(f"{QC_PREFIX}/{key}.scores.json", _SCORES.dump_json(scores))

    async def report(self, key: str) -> StagedFile | None:
        document = await self._read(f"{key}.report.json")
        report = None if document is None else StagedFile.model_validate(document)
        return report if report is not None and await self.store.exists(report) else None

    async def save_report(self, key: str, report: StagedFile) -> None:
        await self._write(f"{key}.report.json", report.model_dump(mode="json"))

    async def _read(self, name: str) -> object | None:
        document = await self.store.read(f"{QC_PREFIX}/{name}")
        return None if document is None else json.loads(document)

    async def _write(self, name: str, document: object) -> None:
        await self.store.write(f"{QC_PREFIX}/{name}", json.dumps(document, default=_plain).encode())


def _digest(parts: list[object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=_plain).encode()).hexdigest()


def _plain(value: object) -> object:
    """numpy scalars and anything else JSON does not know, as plain values."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)
