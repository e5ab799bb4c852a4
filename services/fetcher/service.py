"""Fetcher: date-requested → one data-staged event per association block (AB) ready to process.

A night's raw frames are classified with ESO's OCA rules, organised and associated with
certified master calibrations into ABs. A COMPLETE AB waiting for nothing is staged and
sent on; one waiting for master calibrations that ABs of the same request will make stays
WAITING in the ledger until their `ingested` event releases it; one lacking a calibration
is INCOMPLETE and recorded, never sent to the processor.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from services.fetcher import metrics
from services.fetcher.adapters.archive_files import ArchiveStager
from services.fetcher.association import Associated, associate, is_ready, release
from services.fetcher.classification import Classifier
from services.fetcher.night import NightFrames, load_classifier, read_catalogue, read_nights
from services.fetcher.staging import stage_block
from shared.archive import ArchiveDatabase, DatabaseSettings, calibrations, ledger
from shared.bus.runtime import ServiceSpec, ServiceStart
from shared.contracts import AssociationBlock, Completeness, DataStaged, DateRequested, FinalState, Ingested
from shared.errors import DataError, NoWork, TransientError
from shared.instruments import UnknownInstrumentMode, known_mode
from shared.instruments.association import AssociationRules, load_association_rules
from shared.lifecycle import LOST, AbState, RequestState
from shared.pipeline_install import pipeline_version
from shared.rawarchive.client import open_archive
from shared.rawarchive.interface import RawArchive
from shared.rawarchive.models import CalibInfo
from shared.rawarchive.settings import ArchiveClientSettings
from shared.resources import archive_database, file_store
from shared.storage import StorageSettings

log = logging.getLogger(__name__)


@dataclass
class FetcherContext:
    identity: str
    archive: RawArchive
    stager: ArchiveStager
    database: ArchiveDatabase
    _rules: dict[str, AssociationRules] = field(default_factory=dict)
    _classifiers: dict[str, Classifier] = field(default_factory=dict)

    def rules(self, instrument_mode: str) -> AssociationRules:
        if instrument_mode not in self._rules:
            self._rules[instrument_mode] = load_association_rules(instrument_mode)
        return self._rules[instrument_mode]

    def classifier(self, instrument_mode: str) -> Classifier:
        """The mode's classifier, parsed from its OCA file once per service life."""
        if instrument_mode not in self._classifiers:
            self._classifiers[instrument_mode] = load_classifier(instrument_mode)
        return self._classifiers[instrument_mode]


@asynccontextmanager
async def lifespan(start: ServiceStart) -> AsyncIterator[FetcherContext]:
    async with (archive_database(start.settings_of(DatabaseSettings)) as database,
                open_archive(start.settings_of(ArchiveClientSettings)) as archive):
        yield FetcherContext(start.identity, archive, ArchiveStager(archive, await file_store(start.settings_of(StorageSettings))),
                             database)


async def on_date_requested(event: DateRequested, ctx: FetcherContext) -> list[DataStaged]:
    rules = await _rules_for_request(event, ctx)
    rule_set = rules.rule_set_for(event.night)
    async with ctx.database.session() as session:
        await ledger.record_request(session, event, rules_version=rule_set.version, pipeline_version=pipeline_version())
    frames = await read_nights(ctx.archive, rules.instrument, event.night, event.night_to or event.night,
                               ctx.classifier(event.instrument_mode), rule_set, event.mode)
    catalogue = await read_catalogue(ctx.archive, rules.instrument, frames, event.mode)
    associated = associate(frames.frames, catalogue, event.mode, rules, rule_set)
    _report_files_not_used(associated)
    owned = [block for block in associated.blocks if await _claimed(block, event, ctx)]
    staged = [await _stage_or_record(block, event, frames, catalogue, ctx) for block in owned]
    others = [block.ab_id for block in associated.blocks if block not in owned]
    async with ctx.database.session() as session:
        await ledger.set_request_state(session, event.request_id, RequestState.FETCHED,
                                       _request_summary(associated, others))
        # A request that owns no unfinished AB (all INCOMPLETE, or all handled by earlier requests) is DONE now.
        await ledger.finish_request_if_done(session, event.request_id)
    return [DataStaged.following(event, ab=block) for block in staged if block is not None]


async def on_ingested(event: Ingested, ctx: FetcherContext) -> list[DataStaged]:
    """Release the ABs that waited for this AB's certified products (or learn they never come).

    Every waiting AB is resolved afresh from the ledger's current state of all its producers,
    and only a final outcome is written (INCOMPLETE, or STAGED once staged), each by one
    conditional update, so two `ingested` events handled at once cannot undo each other's work
    and an interrupted release is simply done again when the event is redelivered.
    """
    known_mode(event.ab.instrument_mode)
    if AbState(event.state) not in LOST and event.state is not FinalState.INGESTED:
        raise NoWork(f"{event.ab.ab_id} is {event.state.value}; its dependants keep waiting")
    async with ctx.database.session() as session:
        if not await ledger.may_release(session, event.ab.instrument_mode, event.event_id):
            raise NoWork(f"no AB waits for {event.ab.ab_id}")
        records = await ledger.waiting_abs(session, event.ab.instrument_mode)
        already = await ledger.staged_by_event(session, event.event_id)
        if not already and not any(event.ab.ab_id in record.depends_on for record in records):
            raise NoWork(f"no AB waits for {event.ab.ab_id}")
        producers = await _producers(session, {ab_id for record in records for ab_id in record.depends_on})
    rules = ctx.rules(event.ab.instrument_mode)
    # Retired masters too: a producer's products stay the ones its dependants were promised,
    # even if a reprocessed version has replaced them in the store since.
    catalogue = await ctx.archive.list_calib(rules.instrument, include_retired=True)
    by_name = {calibration.name: calibration for calibration in catalogue}
    certified = {ab_id: [by_name[name] for name in names if name in by_name] for ab_id, names in producers.certified.items()}
    waiting = {record.ab_id: record for record in records}
    released = release([AssociationBlock.model_validate(r.ab) for r in records], certified, producers.lost)
    for block in released.incomplete:
        await _record(ctx, block, AbState.INCOMPLETE, waiting[block.ab_id].request_id, event.event_id,
                      block.incomplete_reason)
    outputs = [DataStaged(correlation_id=r.request_id, causation_id=event.event_id, ab=AssociationBlock.model_validate(r.ab))
               for r in already]
    for block in released.ready:
        request_id = waiting[block.ab_id].request_id
        frames = await ctx.archive.list_raw(rules.instrument, block.night)
        staged = await _release(block, {f.arcfile: f for f in frames}, catalogue, request_id, event.event_id, ctx)
        if staged is not None:
            outputs.append(DataStaged(correlation_id=request_id, causation_id=event.event_id, ab=staged))
    return outputs


async def _release(block, raw_infos, catalogue, request_id: uuid.UUID, event_id: uuid.UUID,
                   ctx: FetcherContext) -> AssociationBlock | None:
    """Stage a waiting AB and mark it STAGED; None if staging failed or another release won."""
    staged, state, reason = await _staging_outcome(block, raw_infos, catalogue, ctx)
    async with ctx.database.session() as session:
        won = await ledger.record_ab_state(session, staged, state, event_id=event_id, request_id=request_id,
                                           service=ctx.identity, reason=reason, only_from=AbState.WAITING)
    if not won:
        log.info("%s was released by another event meanwhile", block.ab_id)
        return None
    _count(staged, state, reason)
    return staged if state is AbState.STAGED else None


@dataclass(frozen=True)
class _Producers:
    certified: dict[str, list[str]]
    """Producer ab_id → names of the masters it registered in the calibration store."""
    lost: set[str]
    """Producers that will never deliver (rejected, failed, incomplete)."""


async def _producers(session, ab_ids: set[str]) -> _Producers:
    states = await ledger.ab_states(session, ab_ids)
    certified = {
        ab_id: [c.name for c in await calibrations.calibrations_of_ab(session, ab_id)]
        for ab_id, state in states.items() if state is AbState.INGESTED
    }
    lost = {ab_id for ab_id, state in states.items() if state in LOST}
    return _Producers(certified, lost)


async def _rules_for_request(event: DateRequested, ctx: FetcherContext) -> AssociationRules:
    """The request's rules. An unknown mode is dead-lettered as in every service; the fetcher also
    records the request FAILED with the reason, so the ledger does not show it pending."""
    try:
        known_mode(event.instrument_mode)
    except UnknownInstrumentMode as unknown:
        async with ctx.database.session() as session:
            await ledger.record_request(session, event)
            await ledger.set_request_state(session, event.request_id, RequestState.FAILED, str(unknown))
        raise
    return ctx.rules(event.instrument_mode)


async def _claimed(block: AssociationBlock, event: DateRequested, ctx: FetcherContext) -> bool:
    """Whether this request handles the AB: not when another request already has it in hand or
    ingested it (a repeated request, overlapping campaigns) unless this one asks to reprocess."""
    if event.reprocess:
        return True
    async with ctx.database.session() as session:
        claimed = await ledger.claim_ab(session, block, event_id=event.event_id, request_id=event.request_id,
                                        service=ctx.identity)
    if not claimed:
        log.info("%s is handled by an earlier request; not staged again", block.ab_id)
    return claimed


async def _stage_or_record(
    block: AssociationBlock, event: DateRequested, frames: NightFrames, catalogue: list[CalibInfo], ctx: FetcherContext
) -> AssociationBlock | None:
    if block.completeness is Completeness.INCOMPLETE:
        await _record(ctx, block, AbState.INCOMPLETE, event.request_id, event.event_id, block.incomplete_reason)
        return None
    if not is_ready(block):
        await _record(ctx, block, AbState.WAITING, event.request_id, event.event_id,
                      f"waits for {', '.join(block.depends_on)}")
        return None
    return await _stage(block, frames.raw_infos(), catalogue, event.request_id, event.event_id, ctx)


async def _stage(block, raw_infos, catalogue, request_id: uuid.UUID, event_id: uuid.UUID, ctx: FetcherContext):
    staged, state, reason = await _staging_outcome(block, raw_infos, catalogue, ctx)
    await _record(ctx, staged, state, request_id, event_id, reason)
    return staged if state is AbState.STAGED else None


async def _staging_outcome(block, raw_infos, catalogue, ctx: FetcherContext) -> tuple[AssociationBlock, AbState, str]:
    """The AB staged, or FAILED with the reason: a file that stays unavailable, vanished, refused or
    corrupt fails this AB only."""
    try:
        return await stage_block(block, ctx.stager, raw_infos, catalogue), AbState.STAGED, ""
    except (TransientError, DataError) as error:
        return block, AbState.FAILED, f"staging failed: {error}"


async def _record(ctx: FetcherContext, block: AssociationBlock, state: AbState, request_id: uuid.UUID,
                  event_id: uuid.UUID, reason: str = "") -> None:
    async with ctx.database.session() as session:
        await ledger.record_ab_state(session, block, state, event_id=event_id, request_id=request_id,
                                     service=ctx.identity, reason=reason)
    _count(block, state, reason)


def _count(block: AssociationBlock, state: AbState, reason: str) -> None:
    metrics.ABS_CREATED.labels(state.value).inc()
    if state in (AbState.INCOMPLETE, AbState.FAILED):
        log.warning("%s %s: %s", block.ab_id, state.value, reason)


def _report_files_not_used(associated: Associated) -> None:
    for skipped in associated.skipped:
        log.warning("not used: %s (%s): %s", skipped.arcfile, skipped.category, skipped.reason)
    metrics.FILES_NOT_USED.inc(len(associated.skipped))


def _request_summary(associated: Associated, handled_elsewhere: list[str] = ()) -> str:
    parts = []
    if associated.skipped:
        listed = "; ".join(f"{s.arcfile}: {s.reason}" for s in associated.skipped[:20])
        more = len(associated.skipped) - 20
        parts.append(f"{len(associated.skipped)} file(s) not used: {listed}" + (f"; and {more} more" if more > 0 else ""))
    if handled_elsewhere:
        parts.append(f"{len(handled_elsewhere)} AB(s) already handled by an earlier request: "
                     f"{', '.join(handled_elsewhere[:20])}")
    return "; ".join(parts)


SERVICE = ServiceSpec(
    name="fetcher",
    handlers={DateRequested: on_date_requested, Ingested: on_ingested},
    produces=(DataStaged,),
    lifespan=lifespan,
    settings=(DatabaseSettings, ArchiveClientSettings, StorageSettings),
    spread=(DataStaged,),
)
