"""Reprocessing an unchanged AB: QC measured and drawn before is reused, keyed by what it depends on.

Measurements depend only on the products' content (and the raw frames for saturation), so they
are kept by those checksums. Scores are always recomputed (statistical thresholds follow the
history of certified values); the report is reused only when the scores are the same too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from pydantic import TypeAdapter

from services.qc.extraction import Measurement
from shared import __version__
from shared.contracts import ProductsReady, QcScore, StagedFile
from shared.storage import LocalFileStore

_SCORES = TypeAdapter(list[QcScore])


def measurement_key(event: ProductsReady, wanted_raw: set[str]) -> str:
    products = sorted((p.name, p.pro_catg, p.file.sha256) for p in event.products)
    raws = sorted(r.staged.sha256 for r in event.ab.raw_files if r.staged) if wanted_raw else []
    return _digest([event.ab.ab_id, products, raws, sorted(wanted_raw), __version__])


def report_key(measured: str, scores: list[QcScore]) -> str:
    return _digest([measured, _SCORES.dump_python(scores, mode="json")])


class QcCache:
    def __init__(self, root: Path, store: LocalFileStore) -> None:
        self.root = root
        self.store = store
        root.mkdir(parents=True, exist_ok=True)

    def measurements(self, key: str) -> list[Measurement] | None:
        document = self._read(f"{key}.measurements.json")
        return None if document is None else [Measurement(**item) for item in document]

    def save_measurements(self, key: str, measurements: list[Measurement]) -> None:
        self._write(f"{key}.measurements.json", [asdict(m) for m in measurements])

    def report(self, key: str) -> StagedFile | None:
        document = self._read(f"{key}.report.json")
        report = None if document is None else StagedFile.model_validate(document)
        return report if report is not None and self.store.exists(report) else None

    def save_report(self, key: str, report: StagedFile) -> None:
        self._write(f"{key}.report.json", report.model_dump(mode="json"))

    def _read(self, name: str) -> object | None:
        try:
            return json.loads((self.root / name).read_text())
        except FileNotFoundError:
            return None

    def _write(self, name: str, document: object) -> None:
        temporary = self.root / f".{name}.tmp"
        temporary.write_text(json.dumps(document, default=_plain))
        temporary.replace(self.root / name)


def _digest(parts: list[object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=_plain).encode()).hexdigest()


def _plain(value: object) -> object:
    """numpy scalars and anything else JSON does not know, as plain values."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)
