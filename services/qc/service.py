"""QC: products-ready → qc-scored.

Extracts the QC parameters of an AB's products, scores them against the threshold set valid
for the night (or a named release's), stores them in the QC1 table, and draws the AB's QC
report. A FAILED processing result passes through with its reason, recorded in the ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

from services.qc import metrics
from services.qc.adapters.products import SATURATED_FRACTION, ProductReader, files_to_read
from services.qc.adapters.qc1 import certified_history, record_scores
from services.qc.cache import QcCache, measurement_key, report_key, scores_key
from services.qc.dictionary import QcDictionary, load_dictionary
from services.qc.extraction import Measurement
from services.qc.report import write_report
from services.qc.scoring import score_measurements, statistical_needs
from services.qc.settings import QcSettings
from services.qc.thresholds import THRESHOLDS_FILE, ThresholdFile, ThresholdSet, load_thresholds
from shared.archive import ArchiveDatabase, DatabaseSettings
from shared.bus.runtime import ServiceSpec, ServiceStart
from shared.contracts import PREVIEW_CATEGORY, ProcessStatus, ProductKind, ProductsReady, QcScore, QcScored, StagedFile
from shared.instruments import load_per_mode, rules_for
from shared.instruments.association import pipeline_plugin
from shared.pipeline_install import qc_dictionary_file
from shared.resources import archive_database, file_store
from shared.storage import FileStore, StorageSettings


@dataclass(frozen=True)
class QcContext:
    identity: str
    settings: QcSettings
    store: FileStore
    db: ArchiveDatabase
    dictionaries: dict[str, QcDictionary]
    """QC dictionaries by instrument mode."""
    thresholds: dict[str, ThresholdFile]
    """Threshold files by instrument mode."""
    cache: QcCache


async def on_products_ready(event: ProductsReady, ctx: QcContext) -> list[QcScored]:
    ab = event.ab
    rules = rules_for(ctx.thresholds, ab.instrument_mode, THRESHOLDS_FILE)
    if event.status is ProcessStatus.FAILED:
        metrics.count(ab.raw_type, event.status.value, [])
        return [QcScored.following(event, ab=ab, status=event.status, reason=event.reason, products=event.products)]

    threshold_set = rules.select(ab.night, ctx.settings.threshold_set)
    if threshold_set is not None:
        threshold_set = threshold_set.for_setting(ab.raw_match_key)
    reader = ProductReader(ctx.dictionaries[ab.instrument_mode], rules, ctx.settings.resolving_power)
    wanted_raw = {SATURATED_FRACTION} if threshold_set and _scores_raw_frames(threshold_set, ab.raw_type) else set()
    measured = measurement_key(event, wanted_raw)
    measurements = await ctx.cache.measurements(measured)
    if measurements is None:
        measurements = await _measured(ctx.store, reader, event, wanted_raw)
        await ctx.cache.save_measurements(measured, measurements)

    needs = statistical_needs(threshold_set, ab.raw_type, measurements) if threshold_set else {}
    histories = await certified_history(ctx.db, event, needs)
    products = [(p.name, p.pro_catg) for p in event.products if p.kind is not ProductKind.ANCILLARY]
    no_set_reason = _no_set_reason(ctx.settings, ab.night)
    scored = scores_key(measured, threshold_set, ab.raw_type, products, histories, no_set_reason)
    scores = await ctx.cache.scores(scored)
    if scores is None:
        scores = score_measurements(measurements, threshold_set, ab.raw_type, products, histories, no_set_reason)
        await ctx.cache.save_scores(scored, scores)
    reported = report_key(measured, scores)
    report = await ctx.cache.report(reported)
    if report is None:
        report = await _stored_report(ctx, event, scores)
        await ctx.cache.save_report(reported, report)
    await record_scores(ctx.db, event, scores, ctx.identity)
    metrics.count(ab.raw_type, event.status.value, [s.score for s in scores])
    return [QcScored.following(event, ab=ab, status=event.status, reason=event.reason, products=event.products,
                               scores=scores, report=report)]


async def _measured(store: FileStore, reader: ProductReader, event: ProductsReady, wanted_raw: set[str]
                    ) -> list[Measurement]:
    """Measured on private copies of the files, removed afterwards."""
    raws = [raw.staged for raw in event.ab.raw_files if raw.staged is not None] if wanted_raw else []
    present = {file.uri for file in raws if await store.exists(file)}
    async with store.local_copies(files_to_read(event, wanted_raw, present)) as local:
        return await asyncio.to_thread(reader.measure, event, wanted_raw, local)


def _scores_raw_frames(threshold_set: ThresholdSet, raw_type: str) -> bool:
    return any(t.parameter == SATURATED_FRACTION and t.applies(raw_type, "") for t in threshold_set.thresholds)


def _no_set_reason(settings: QcSettings, night: date) -> str:
    if settings.threshold_set:
        return f"threshold set {settings.threshold_set!r} does not exist"
    return f"no threshold set is valid for night {night}"


async def _stored_report(ctx: QcContext, event: ProductsReady, scores: list[QcScore]) -> StagedFile:
    """The report shows the spectra through the previews the processor drew for them: no spectrum
    is read or drawn again."""
    previews = [p.file for p in event.products if p.pro_catg == PREVIEW_CATEGORY]
    with ctx.store.scratch("qc-report-") as folder:
        path = folder / f"{event.ab.ab_id}.qc.png"
        async with ctx.store.local_copies(previews) as local:
            await asyncio.to_thread(write_report, path, event.ab, scores, [local[file.uri] for file in previews])
        return await ctx.store.put(path)


def load_all_dictionaries(instrument_modes: Iterable[str]) -> dict[str, QcDictionary]:
    """Each mode's QC dictionary: the one its pipeline plugin installs (ESO-DFS-DIC.<name>_QC)."""
    return {mode: load_dictionary(qc_dictionary_file(pipeline_plugin(mode))) for mode in instrument_modes}


def load_all_thresholds() -> dict[str, ThresholdFile]:
    """Every instrument mode's threshold file; a bad one stops the service, naming file and line."""
    return load_per_mode(THRESHOLDS_FILE, load_thresholds)


@asynccontextmanager
async def lifespan(start: ServiceStart) -> AsyncIterator[QcContext]:
    settings = start.settings_of(QcSettings)
    storage = start.settings_of(StorageSettings)
    thresholds = load_all_thresholds()
    dictionaries = load_all_dictionaries(thresholds)
    store = await file_store(storage)
    cache = QcCache(store)
    async with archive_database(start.settings_of(DatabaseSettings)) as db:
        yield QcContext(start.identity, settings, store, db, dictionaries, thresholds, cache)


SERVICE = ServiceSpec(name="qc", handlers={ProductsReady: on_products_ready}, produces=(QcScored,), lifespan=lifespan,
                      settings=(QcSettings, StorageSettings, DatabaseSettings))
