"""Ingestor: certified → ingested.

A CERTIFIED AB's science spectra (IDP) are checked against the Phase 3 SDP rules (on private
copies from the file store); if all pass they are copied into the archive store under stable ids (`PHX.<timestamp>.<n>.fits`) with their
ancillary files and catalogued (superseding an earlier version of the same product), and its
master calibrations (MCALIB) are registered in the observatory archive's calibration store.
A product failing Phase 3 stops the whole AB: REJECTED with the reasons, nothing stored.
Undecided ABs end as the certifier left them: REVIEW, REJECTED, or FAILED when processing failed.
Every outcome is the AB's final state in the ledger; the request is DONE once all its ABs are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.ingestor import metrics
from services.ingestor.adapters.archive_db import (
    current_product_with,
    ingested_unchanged,
    record_outcome,
    save_releases,
)
from services.ingestor.adapters.calibration_store import RegisteredMaster, register_master
from services.ingestor.phase3 import validate_file
from services.ingestor.plan import (
    AB_LEVEL_ANCILLARY,
    Products,
    arm_of,
    calibration_name,
    calibration_provenance,
    indistinct_idps,
    raw_provenance,
    rejection_reason,
    split_products,
    state_without_ingestion,
)
from services.ingestor.processing import Processing, processing_record
from services.ingestor.releases import RELEASES_FILE, StreamReleases, check_override, load_all_releases, release_for
from services.ingestor.sdp_metadata import SdpMetadata, read_metadata
from services.ingestor.settings import IngestorSettings
from shared import __version__
from shared.archive import ArchiveDatabase, DatabaseSettings
from shared.archive.catalogue import AncillaryFile, NewProduct, Provenance, lineage_key, make_product_id
from shared.archive.files import ArchivedFile, ArchiveFiles, NameTaken, product_file_name
from shared.bus.runtime import ServiceSpec, ServiceStart
from shared.contracts import Certified, Decision, FinalState, Ingested, Product, ProductKind
from shared.errors import DataError, TransientError
from shared.instruments import rules_for
from shared.rawarchive.client import RawArchiveClient, open_archive
from shared.rawarchive.settings import ArchiveClientSettings
from shared.resources import archive_database, file_store
from shared.storage import FileStore, StorageSettings

MAX_ID_PROBES = 100


@dataclass(frozen=True)
class IngestorContext:
    identity: str
    db: ArchiveDatabase
    store: FileStore
    """The working file store the products arrive in."""
    files: ArchiveFiles
    """The archive store they are kept in."""
    archive: RawArchiveClient
    """The observatory archive, whose calibration store receives the masters."""
    streams: dict[str, StreamReleases]
    release_override: str | None = None

    def release_for(self, instrument_mode: str) -> str | None:
        return release_for(instrument_mode, self.streams, self.release_override)


@dataclass(frozen=True)
class Outcome:
    state: FinalState
    reason: str = ""
    products: Sequence[NewProduct] = ()
    masters: Sequence[RegisteredMaster] = ()
    ingested_before: Sequence[str] = ()
    """Ids of the products and masters an unchanged AB had ingested already."""


async def on_certified(event: Certified, ctx: IngestorContext) -> list[Ingested]:
    rules_for(ctx.streams, event.ab.instrument_mode, RELEASES_FILE)
    if event.decision is Decision.CERTIFIED:
        outcome = await _unchanged(event, ctx) or await ingest(event, ctx)
    else:
        outcome = Outcome(state_without_ingestion(event), event.reason)
    recorded = await record_outcome(ctx.db, event, outcome.state, outcome.reason, ctx.identity,
                                    outcome.products, outcome.masters)
    if recorded.newly_final:
        metrics.ABS_FINAL.labels(outcome.state.value).inc()
    metrics.INGESTED_BYTES.inc(recorded.new_bytes)
    return [Ingested.following(event, ab=event.ab, state=outcome.state, reason=outcome.reason,
                               product_ids=[*recorded.product_ids, *outcome.ingested_before])]


async def _unchanged(event: Certified, ctx: IngestorContext) -> Outcome | None:
    """INGESTED at the cost of one database read when the archive holds this AB's very files
    already (a reprocessed, unchanged AB): no file is copied, validated or read again."""
    products = split_products(event.products)
    masters = [_master_name(event, master) for master in products.masters]
    ids = await ingested_unchanged(ctx.db, event.ab.ab_id, [idp.file.sha256 for idp in products.idps], masters)
    return None if ids is None else Outcome(FinalState.INGESTED, _ingested_reason(products), ingested_before=ids)


async def ingest(event: Certified, ctx: IngestorContext) -> Outcome:
    products = split_products(event.products)
    missing = [p.name for p in (*products.idps, *products.masters, *products.ancillary)
               if not await ctx.store.exists(p.file)]
    if missing:
        return Outcome(FinalState.FAILED, f"product file(s) missing from the file store: {', '.join(missing)}")
    needed = [p.file for p in event.products if p.kind is ProductKind.PIPELINE] + \
        [p.file for p in (*products.idps, *products.masters, *products.ancillary)]
    async with ctx.store.local_copies(needed) as local:
        problems = await phase3_problems(event, products, local)
        if problems:
            return Outcome(FinalState.REJECTED, rejection_reason(problems))
        try:
            masters = [await _register_master(event, master, ctx, local) for master in products.masters]
        except DataError as refused:
            return Outcome(FinalState.REJECTED, f"the calibration store refused a master: {refused}")
        idps = await archive_idps(event, products, ctx, local)
    return Outcome(FinalState.INGESTED, _ingested_reason(products), idps, masters)


async def phase3_problems(event: Certified, products: Products, local: Mapping[str, Path]) -> list[str]:
    raw_files = {frame.arcfile for frame in event.ab.raw_files}
    product_files = {product.name for product in event.products}
    problems = list(indistinct_idps(products.idps))
    for idp in products.idps:
        found = await asyncio.to_thread(validate_file, local[idp.file.uri], raw_files, product_files)
        problems += [f"{idp.name}: {problem}" for problem in found]
    return problems


async def _register_master(event: Certified, master: Product, ctx: IngestorContext, local: Mapping[str, Path]
                           ) -> RegisteredMaster:
    return await register_master(ctx.archive, local[master.file.uri], _master_name(event, master), event.ab.instrument,
                                 event.ab.ab_id)


def _master_name(event: Certified, master: Product) -> str:
    return calibration_name(event.ab.instrument, master.pro_catg, event.ab.night, master.file.sha256)


async def archive_idps(event: Certified, products: Products, ctx: IngestorContext, local: Mapping[str, Path]
                       ) -> list[NewProduct]:
    """Copy each IDP (and its ancillary files) into the archive store and describe it for the
    catalogue. Ids come from the certified event's time and the IDP's position, so a redelivered
    event finds its own files again; an IDP already CURRENT as this very file keeps its id."""
    new_products = []
    next_index = 1
    processing = await asyncio.to_thread(
        processing_record, [local[p.file.uri] for p in event.products if p.kind is ProductKind.PIPELINE]
    )
    for idp in products.idps:
        source = local[idp.file.uri]
        metadata = await asyncio.to_thread(read_metadata, source)
        provenance = raw_provenance(event.ab, metadata.raw_files) + calibration_provenance(event.ab)
        lineage = lineage_key(event.ab.ab_id, metadata.prodcatg, arm_of(idp), provenance)
        product_id = await current_product_with(ctx.db, lineage, idp.file.sha256)
        ancillary: list[AncillaryFile] = []
        if product_id is None:
            product_id = await _put_product(ctx.files, source, event.produced_at, next_index)
            next_index = int(product_id.rsplit(".", 1)[1]) + 1
            ancillary = await _put_ancillary(ctx, product_id, _ancillary_of(metadata, products), local)
        new_products.append(_new_product(event, idp, product_id, metadata, provenance, ancillary, processing, ctx))
    return new_products


async def _put_product(files: ArchiveFiles, source: Path, at: datetime, first_index: int) -> str:
    """Store the file under the first free id from `first_index` on (or the one already holding
    it): another AB certified in the same millisecond may have taken an id."""
    for index in range(first_index, first_index + MAX_ID_PROBES):
        product_id = make_product_id(at, index)
        try:
            await files.put(source, product_file_name(product_id))
        except NameTaken:
            continue
        return product_id
    raise TransientError(f"no free product id among {MAX_ID_PROBES} at {at.isoformat()}")


def _ancillary_of(metadata: SdpMetadata, products: Products) -> list[tuple[str, Product]]:
    """(kind, product) of the ancillary files archived with an IDP: those it names in ASSONi,
    and those describing the whole AB (QC report, processing log)."""
    by_name = {product.name: product for product in products.ancillary}
    named = [(associated.kind, by_name[associated.name]) for associated in metadata.associated
             if associated.name in by_name]
    whole_ab = [(AB_LEVEL_ANCILLARY[p.pro_catg], p) for p in products.ancillary if p.pro_catg in AB_LEVEL_ANCILLARY]
    return named + whole_ab


async def _put_ancillary(ctx: IngestorContext, product_id: str, ancillary: list[tuple[str, Product]],
                         local: Mapping[str, Path]) -> list[AncillaryFile]:
    stored = []
    for kind, product in ancillary:
        archived: ArchivedFile = await ctx.files.put(local[product.file.uri], f"{product_id}.{product.name}")
        stored.append(AncillaryFile(kind=kind, name=product.name, uri=archived.uri, size_bytes=archived.size_bytes))
    return stored


def _new_product(event: Certified, idp: Product, product_id: str, metadata: SdpMetadata, provenance: list[Provenance],
                 ancillary: list[AncillaryFile], processing: Processing, ctx: IngestorContext) -> NewProduct:
    return NewProduct(
        product_id=product_id,
        ab_id=event.ab.ab_id,
        instrument=metadata.instrument,
        prodcatg=metadata.prodcatg,
        access_uri=f"archive:{product_file_name(product_id)}",
        sha256=idp.file.sha256,
        file_size_bytes=idp.file.size_bytes,
        provenance=provenance,
        arm=arm_of(idp),
        night=event.ab.night,
        target_name=metadata.target_name,
        ra=metadata.ra,
        dec=metadata.dec,
        t_min=metadata.t_min,
        t_max=metadata.t_max,
        exposure_seconds=metadata.exposure_seconds,
        wavelength_min_nm=metadata.wavelength_min_nm,
        wavelength_max_nm=metadata.wavelength_max_nm,
        resolving_power=metadata.resolving_power,
        snr=metadata.snr,
        calib_level=metadata.calib_level,
        release_name=ctx.release_for(event.ab.instrument_mode),
        files=ancillary,
        recipe=processing.recipe or event.ab.recipe,
        pipeline_version=processing.pipeline_version,
        phoenix_version=__version__,
        parameters=processing.parameters,
    )


def _ingested_reason(products: Products) -> str:
    if not products.idps and not products.masters:
        return f"certified; nothing to archive (no IDP or master among {len(products.others)} pipeline product(s))"
    return f"{len(products.idps)} IDP(s) catalogued, {len(products.masters)} master(s) registered"


@asynccontextmanager
async def lifespan(start: ServiceStart) -> AsyncIterator[IngestorContext]:
    settings = start.settings_of(IngestorSettings)
    storage = start.settings_of(StorageSettings)
    streams = load_all_releases()
    check_override(settings.release, streams)
    metrics.initialise()
    async with (archive_database(start.settings_of(DatabaseSettings)) as db,
                open_archive(start.settings_of(ArchiveClientSettings)) as archive):
        await save_releases(db, streams)
        campaigns = asyncio.create_task(metrics.refresh_campaign_nights(db), name="campaign-nights")
        try:
            store = await file_store(storage)
            yield IngestorContext(start.identity, db, store, ArchiveFiles(store), archive, streams, settings.release)
        finally:
            campaigns.cancel()
            await asyncio.gather(campaigns, return_exceptions=True)


SERVICE = ServiceSpec(
    name="ingestor", handlers={Certified: on_certified}, produces=(Ingested,), lifespan=lifespan,
    settings=(IngestorSettings, StorageSettings, DatabaseSettings, ArchiveClientSettings),
)
