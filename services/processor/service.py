"""Processor: data-staged → products-ready.

Each AB's recipe runs through esorex (or comes from the job store when an identical job
finished before); a recipe that fails, overruns or finds nothing gives a FAILED result that
flows on like any other.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.processor.backends.esorex import EsorexBackend
from services.processor.idp import idp_products, makes_idps
from services.processor.jobs import JobStore, Workspace
from services.processor.plan import plan_job
from services.processor.recipes import RECIPES_FILE, RecipeCatalogue, load_all_recipes
from services.processor.runner import JobOutcome, JobRunner
from services.processor.sdp import SdpRules, load_all_sdp_rules
from services.processor.settings import ProcessorSettings
from shared.archive import ArchiveDatabase, DatabaseSettings, ledger
from shared.archive.models import AbState
from shared.bus.runtime import ServiceSpec, ServiceStart
from shared.contracts import DataStaged, ProcessStatus, Product, ProductKind, ProductsReady
from shared.errors import DataError
from shared.instruments import rules_for
from shared.instruments.association import pipeline_plugin
from shared.resources import archive_database, file_store
from shared.storage import FileStore, StorageSettings, scratch_folder_of

log = logging.getLogger(__name__)
PROCESSING_LOG_CATEGORY = "PROCESSING_LOG"


@dataclass(frozen=True)
class ProcessorContext:
    identity: str
    db: ArchiveDatabase
    settings: ProcessorSettings
    recipes: dict[str, RecipeCatalogue]
    sdp_rules: dict[str, SdpRules]
    store: FileStore
    runner: JobRunner


async def on_data_staged(event: DataStaged, ctx: ProcessorContext) -> list[ProductsReady]:
    rules_for(ctx.recipes, event.ab.instrument_mode, RECIPES_FILE)
    ready = await _processed(event, ctx)
    async with ctx.db.session() as session:
        await ledger.record_step(session, event, AbState.PROCESSED, ctx.identity, ready.reason)
    return [ready]


async def _processed(event: DataStaged, ctx: ProcessorContext) -> ProductsReady:
    """The AB's products, or FAILED with the reason: an AB that cannot run flows on like any other."""
    try:
        plan = plan_job(event.ab, ctx.recipes, ctx.settings.default_timeout_seconds)
        outcome = await ctx.runner.run(plan)
        sdp_rules = ctx.sdp_rules.get(event.ab.instrument_mode)
        idps = (
            await idp_products(event.ab, outcome, ctx.store, sdp_rules, ctx.runner.jobs)
            if sdp_rules and makes_idps(event.ab, outcome) else []
        )
    except DataError as error:
        return ProductsReady.following(event, ab=event.ab, status=ProcessStatus.FAILED, reason=str(error))
    return products_ready(event, outcome, idps)


def products_ready(event: DataStaged, outcome: JobOutcome, idps: list[Product]) -> ProductsReady:
    record = outcome.record
    products = [
        Product(name=p.name, pro_catg=p.pro_catg, kind=p.kind, file=p.file, qc=p.qc)
        for p in record.products
        if outcome.successful and p.kind is not None and p.file is not None
    ] + idps + _processing_log(event, outcome)
    return ProductsReady.following(
        event,
        ab=event.ab,
        status=ProcessStatus.SUCCESSFUL if outcome.successful else ProcessStatus.FAILED,
        reason=outcome.reason,
        products=products,
        log=record.log,
        job_key=record.job_key,
        reused=outcome.reused,
        pipeline_version=f"{record.pipeline_version} {record.esorex_version}",
        duration_seconds=record.duration_seconds,
    )


def _processing_log(event: DataStaged, outcome: JobOutcome) -> list[Product]:
    """The recipe's log travels with successful products, so the archive keeps it beside them."""
    if not outcome.successful or outcome.record.log is None:
        return []
    return [Product(name=f"{event.ab.recipe}.log", pro_catg=PROCESSING_LOG_CATEGORY, kind=ProductKind.ANCILLARY,
                    file=outcome.record.log)]


@asynccontextmanager
async def lifespan(start: ServiceStart) -> AsyncIterator[ProcessorContext]:
    settings = start.settings_of(ProcessorSettings)
    storage = start.settings_of(StorageSettings)
    recipes = load_all_recipes()
    backend = await EsorexBackend.installed()
    workspace = Workspace(scratch_folder_of(storage, "work"), settings.keep_failed_workdirs)
    swept = workspace.sweep_abandoned(older_than_seconds=2 * _longest_timeout(recipes, settings))
    if swept:
        log.info("removed %d work folders abandoned by killed replicas", len(swept))
    store = await file_store(storage)
    runner = JobRunner(backend, JobStore(store), workspace, store, settings.omp_threads)
    # Every mode's pipeline must be installed: a missing one stops the processor here, not mid-campaign.
    pipelines = sorted({backend.pipeline_version(pipeline_plugin(mode)) for mode in recipes})
    log.info(
        "processor ready: %s %s, %d recipes at once, %d OMP threads each, recipes for %s",
        ", ".join(pipelines), backend.esorex_version, start.runtime.concurrency, settings.omp_threads, ", ".join(recipes),
    )
    sdp_rules = load_all_sdp_rules(recipes)
    async with archive_database(start.settings_of(DatabaseSettings)) as db:
        yield ProcessorContext(identity=start.identity, db=db, settings=settings, recipes=recipes, sdp_rules=sdp_rules,
                               store=store, runner=runner)


def _longest_timeout(recipes: dict[str, RecipeCatalogue], settings: ProcessorSettings) -> float:
    return max(
        [r.timeout_seconds or settings.default_timeout_seconds for c in recipes.values() for r in c.recipes.values()]
        + [settings.default_timeout_seconds]
    )


def one_recipe_per_core() -> int:
    return os.cpu_count() or 1


SERVICE = ServiceSpec(
    name="processor", handlers={DataStaged: on_data_staged}, produces=(ProductsReady,), lifespan=lifespan,
    settings=(ProcessorSettings, StorageSettings, DatabaseSettings), default_concurrency=one_recipe_per_core,
)
