"""The ingestor's side of the archive database: catalogue, calibrations, releases and the ledger.

An AB's products, its masters and its final state are written in one transaction, so the
history never shows an AB INGESTED without its products, nor products of an AB not INGESTED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingestor.adapters.calibration_store import RegisteredMaster
from services.ingestor.releases import StreamReleases
from shared.archive import ArchiveDatabase, calibrations, catalogue, ledger, releases
from shared.archive.catalogue import NewProduct
from shared.archive.models import AbState, CalibrationStatus, Product, ProductStatus
from shared.contracts import Certified, FinalState
from shared.rawarchive.models import CalibInfo, Header


@dataclass(frozen=True)
class Recorded:
    product_ids: list[str]
    """Catalogue ids of the IDPs, then the calibration-store names of the masters."""
    newly_final: bool
    """False when this event's final state was already recorded (a redelivery)."""
    new_bytes: int
    """Bytes of products and masters catalogued for the first time."""


async def save_releases(db: ArchiveDatabase, streams: Mapping[str, StreamReleases]) -> None:
    async with db.session() as session:
        for stream in streams.values():
            for release in stream.releases:
                await releases.save_release(
                    session, release.name, stream=stream.stream, release_date=release.date,
                    description=release.description.strip(), threshold_set=release.threshold_set,
                )


async def current_product_with(db: ArchiveDatabase, lineage: str, sha256: str) -> str | None:
    """The id of the CURRENT version of a product if it is this very file (already ingested)."""
    statement = select(Product.product_id).where(
        Product.lineage_key == lineage, Product.status == ProductStatus.CURRENT, Product.sha256 == sha256
    )
    async with db.session() as session:
        return await session.scalar(statement)


async def ingested_unchanged(db: ArchiveDatabase, ab_id: str, idp_sha256s: Sequence[str],
                             master_names: Sequence[str]) -> list[str] | None:
    """The catalogue ids of these IDPs then the master names, if the AB's CURRENT products are
    exactly these files and its masters are CURRENT under these names; else None (also for an
    AB with neither, which has nothing to compare)."""
    if not idp_sha256s and not master_names:
        return None
    async with db.session() as session:
        current = {p.sha256: p.product_id for p in await catalogue.products_of_ab(session, ab_id)
                   if p.status is ProductStatus.CURRENT}
        registered = {c.name for c in await calibrations.calibrations_of_ab(session, ab_id)
                      if c.status is CalibrationStatus.CURRENT} if master_names else set()
    if set(current) != set(idp_sha256s) or not set(master_names) <= registered:
        return None
    return [current[sha256] for sha256 in idp_sha256s] + list(master_names)


async def record_outcome(
    db: ArchiveDatabase,
    event: Certified,
    state: FinalState,
    reason: str,
    service: str,
    products: Sequence[NewProduct] = (),
    masters: Sequence[RegisteredMaster] = (),
) -> Recorded:
    async with db.session() as session:
        added = [await catalogue.add_product(session, product) for product in products]
        new_masters = [master for master in masters if await _register_master(session, master, event.ab.mjd_obs)]
        newly_final = await ledger.record_ab_state(
            session, event.ab, AbState(state.value), event_id=event.event_id,
            request_id=event.correlation_id, service=service, reason=reason,
        )
        new_bytes = sum(a.product.file_size_bytes for a in added if a.created)
        return Recorded(
            product_ids=[a.product.product_id for a in added] + [master.info.name for master in masters],
            newly_final=newly_final,
            new_bytes=new_bytes + sum(master.info.size_bytes for master in new_masters),
        )


async def _register_master(session: AsyncSession, master: RegisteredMaster, ab_mjd_obs: float) -> bool:
    """Record a master and the one the store retired for it; False if it was recorded before."""
    if await calibrations.get_calibration(session, master.info.name) is not None:
        return False
    replaced = master.replaced
    if replaced is not None and await calibrations.get_calibration(session, replaced.name) is None:
        # A master phoenix did not make (adopted by the store, or from before phoenix): recorded
        # so that the history shows what the new one replaced.
        await _register(session, replaced, ab_id="", mjd_obs=replaced.mjd_obs or ab_mjd_obs)
    await _register(session, master.info, ab_id=master.ab_id, mjd_obs=master.info.mjd_obs or ab_mjd_obs,
                    replaces=replaced.name if replaced is not None else None)
    return True


async def _register(session: AsyncSession, info: CalibInfo, *, ab_id: str, mjd_obs: float, replaces: str | None = None) -> None:
    await calibrations.register_calibration(
        session, name=info.name, pro_catg=info.pro_catg, ab_id=ab_id, setting=_as_text(info.setting),
        mjd_obs=mjd_obs, replaces=replaces, at=info.registered_at,
    )


def _as_text(setting: Header) -> dict[str, str]:
    return {key: "" if value is None else str(value) for key, value in setting.items()}
