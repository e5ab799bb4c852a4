"""Master calibration history and release descriptions."""

from __future__ import annotations

from datetime import date

from shared.archive import ArchiveDatabase
from shared.archive.calibrations import (
    calibrations_of_ab,
    current_calibrations,
    get_calibration,
    register_calibration,
    retire_calibration,
)
from shared.archive.models import CalibrationStatus
from shared.archive.releases import get_release, list_releases, save_release

SETTING = {"DET.WIN1.BINX": "1", "DET.WIN1.BINY": "1"}


async def test_a_new_master_retires_the_one_it_replaces(db: ArchiveDatabase) -> None:
    async with db.session() as s:
        await register_calibration(s, name="MB_1.fits", pro_catg="MASTER_BIAS_BLUE", ab_id="AB.1",
                                   setting=SETTING, mjd_obs=60370.5)
        await register_calibration(s, name="MF_1.fits", pro_catg="MASTER_FLAT_BLUE", ab_id="AB.2",
                                   setting=SETTING, mjd_obs=60370.6)
    async with db.session() as s:
        new = await register_calibration(s, name="MB_2.fits", pro_catg="MASTER_BIAS_BLUE", ab_id="AB.3",
                                         setting=SETTING, mjd_obs=60371.5, replaces="MB_1.fits")
        again = await register_calibration(s, name="MB_2.fits", pro_catg="MASTER_BIAS_BLUE", ab_id="AB.3",
                                           setting=SETTING, mjd_obs=60371.5, replaces="MB_1.fits")
    assert new.status == again.status == CalibrationStatus.CURRENT and new.replaces == "MB_1.fits"
    async with db.session() as s:
        old = await get_calibration(s, "MB_1.fits")
        biases = await current_calibrations(s, "MASTER_BIAS_BLUE")
        everything = await current_calibrations(s)
        of_ab = await calibrations_of_ab(s, "AB.3")
    assert old is not None and old.status == CalibrationStatus.RETIRED
    assert [c.name for c in biases] == ["MB_2.fits"]
    assert [c.name for c in everything] == ["MB_2.fits", "MF_1.fits"]
    assert [c.setting for c in of_ab] == [SETTING]
    assert of_ab[0].registered_at.tzinfo is not None


async def test_retiring(db: ArchiveDatabase) -> None:
    async with db.session() as s:
        await register_calibration(s, name="MB.fits", pro_catg="MASTER_BIAS_BLUE", ab_id="AB.1", setting={},
                                   mjd_obs=1.0)
        assert await retire_calibration(s, "MB.fits")
        assert not await retire_calibration(s, "MB.fits")
        assert await current_calibrations(s) == []


async def test_releases_are_saved_updated_and_listed_newest_first(db: ArchiveDatabase) -> None:
    async with db.session() as s:
        await save_release(s, "UVES_ECHELLE IDP 2024.1", stream="UVES_ECHELLE IDP", release_date=date(2024, 6, 1),
                           description="# First\nAll of 2023.")
        await save_release(s, "UVES_ECHELLE IDP 2025.1", stream="UVES_ECHELLE IDP", release_date=date(2025, 6, 1),
                           description="draft", threshold_set="UVES_ECHELLE@2025-01-01")
        await save_release(s, "GIRAFFE MCALIB 2025.1", stream="GIRAFFE MCALIB", release_date=date(2025, 7, 1),
                           description="")
    async with db.session() as s:
        updated = await save_release(s, "UVES_ECHELLE IDP 2025.1", stream="UVES_ECHELLE IDP",
                                     release_date=date(2025, 6, 2), description="# Second\nAll of 2024.")
    assert (updated.description, updated.release_date, updated.threshold_set) == (
        "# Second\nAll of 2024.", date(2025, 6, 2), None
    )
    async with db.session() as s:
        uves = await list_releases(s, "UVES_ECHELLE IDP")
        every = await list_releases(s)
        missing = await get_release(s, "nope")
    assert [r.name for r in uves] == ["UVES_ECHELLE IDP 2025.1", "UVES_ECHELLE IDP 2024.1"]
    assert len(every) == 3 and missing is None
