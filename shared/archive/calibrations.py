"""History of the master calibrations phoenix produced and registered in the calibration store."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.archive.models import Calibration, CalibrationStatus
from shared.archive.types import utc_now
from shared.archive.upsert import insert_new


async def register_calibration(
    session: AsyncSession,
    *,
    name: str,
    pro_catg: str,
    ab_id: str,
    setting: Mapping[str, str],
    mjd_obs: float,
    replaces: str | None = None,
    at: datetime | None = None,
) -> Calibration:
    """Record a registered master calibration as CURRENT, retiring the one it `replaces`.
    Registering the same name again changes nothing."""
    written = await insert_new(
        session,
        Calibration,
        [Calibration.name],
        name=name,
        pro_catg=pro_catg,
        ab_id=ab_id,
        setting=dict(setting),
        mjd_obs=mjd_obs,
        status=CalibrationStatus.CURRENT,
        replaces=replaces,
        registered_at=at or utc_now(),
    )
    if written and replaces is not None:
        await retire_calibration(session, replaces)
    fresh = select(Calibration).where(Calibration.name == name).execution_options(populate_existing=True)
    return (await session.scalars(fresh)).one()


async def retire_calibration(session: AsyncSession, name: str) -> bool:
    """False if there is no CURRENT calibration of that name."""
    statement = (
        update(Calibration)
        .where(Calibration.name == name, Calibration.status == CalibrationStatus.CURRENT)
        .values(status=CalibrationStatus.RETIRED)
    )
    return (await session.execute(statement)).rowcount == 1


async def get_calibration(session: AsyncSession, name: str) -> Calibration | None:
    return await session.get(Calibration, name)


async def current_calibrations(session: AsyncSession, pro_catg: str | None = None) -> list[Calibration]:
    statement = select(Calibration).where(Calibration.status == CalibrationStatus.CURRENT)
    if pro_catg is not None:
        statement = statement.where(Calibration.pro_catg == pro_catg)
    return list((await session.scalars(statement.order_by(Calibration.pro_catg, Calibration.mjd_obs))).all())


async def calibrations_of_ab(session: AsyncSession, ab_id: str) -> list[Calibration]:
    statement = select(Calibration).where(Calibration.ab_id == ab_id).order_by(Calibration.name)
    return list((await session.scalars(statement)).all())
