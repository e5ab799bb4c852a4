"""Which endpoints `--archive eso:…` names, the night's ADQL, and the stand-in's ADQL subset."""

from __future__ import annotations

from datetime import date

import pytest

from shared.rawarchive.eso import night_of_mjd, night_window_mjd, raw_frames_query
from shared.rawarchive.settings import ArchiveClientSettings, eso_endpoints
from tools.archive.tap import AdqlError, to_sqlite


def test_eso_alone_names_esos_own_endpoints() -> None:
    endpoints = eso_endpoints(ArchiveClientSettings(url="eso:"))
    assert endpoints.tap == "https://archive.eso.org/tap_obs"
    assert endpoints.calselector == "https://archive.eso.org/calselector/v1/associations"
    assert endpoints.dataportal == "https://dataportal.eso.org/dataPortal/file/"
    assert endpoints.calib_store is None


def test_eso_with_a_base_puts_all_three_under_it_and_each_can_be_set_alone() -> None:
    endpoints = eso_endpoints(ArchiveClientSettings(url="eso:http://127.0.0.1:8000/", calselector_url="http://c/x"))
    assert endpoints.tap == "http://127.0.0.1:8000/tap_obs"
    assert endpoints.calselector == "http://c/x"
    assert endpoints.dataportal == "http://127.0.0.1:8000/dataPortal/file/"
    assert endpoints.calib_store == "http://127.0.0.1:8000"


def test_folders_and_phoenix_urls_are_not_eso() -> None:
    assert eso_endpoints(ArchiveClientSettings(url="/data/archive")) is None
    assert eso_endpoints(ArchiveClientSettings(url="http://127.0.0.1:8000")) is None


def test_a_night_runs_from_noon_utc_to_noon_utc() -> None:
    start, end = night_window_mjd(date(2015, 2, 23), date(2015, 2, 23))
    assert (start, end) == (57076.5, 57077.5)
    assert night_of_mjd(57076.51) == date(2015, 2, 23)
    assert night_of_mjd(57077.49) == date(2015, 2, 23)
    assert night_of_mjd(57077.5) == date(2015, 2, 24)
    query = raw_frames_query("UVES", date(2015, 2, 23), date(2015, 2, 24))
    assert "FROM dbo.raw WHERE instrument = 'UVES' AND mjd_obs >= 57076.5 AND mjd_obs < 57078.5" in query


def test_the_night_query_refuses_what_is_not_an_instrument_name() -> None:
    with pytest.raises(Exception, match="not an ESO instrument name"):
        raw_frames_query("UVES' OR 1=1 --", date(2015, 2, 23), date(2015, 2, 23))


def test_the_fetchers_own_query_is_inside_the_stand_ins_adql_subset() -> None:
    sql = to_sqlite(raw_frames_query("UVES", date(2015, 2, 23), date(2015, 2, 23)))
    assert sql.startswith("SELECT dp_id, dp_cat") and "FROM raw WHERE" in sql and sql.endswith("LIMIT 100000")
    assert to_sqlite("SELECT TOP 3 * FROM dbo.raw ORDER BY mjd_obs DESC", maxrec=10).endswith("LIMIT 3")


@pytest.mark.parametrize(
    ("adql", "message"),
    [
        ("SELECT * FROM ivoa.ObsCore", "only the table dbo.raw"),
        ("SELECT nonsense FROM dbo.raw", "unknown column"),
        ("SELECT dp_id FROM dbo.raw WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, 20, 1)) = 1",
         "not supported"),
        ("SELECT dp_id FROM dbo.raw WHERE dp_id IN (SELECT dp_id FROM dbo.raw)", "not supported|only the table"),
        ("DELETE FROM dbo.raw", "one SELECT"),
        ("SELECT dp_id FROM dbo.raw; SELECT 1", "one SELECT"),
    ],
)
def test_adql_outside_the_subset_is_refused_with_the_reason(adql: str, message: str) -> None:
    with pytest.raises(AdqlError, match=message):
        to_sqlite(adql)
