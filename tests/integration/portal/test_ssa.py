"""IVOA SSAP 1.1 queried by pyvo's SSAService as a real client, over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import io

import astropy.units as u
import httpx
import pytest
import pyvo
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse_single_table
from astropy.time import Time

from shared.archive import ArchiveDatabase
from shared.archive.models import Scope
from shared.archive.tokens import create_token
from shared.serving import serve_in_background
from shared.storage import FileStore
from tests.integration.portal.seed import Spectrum, add_release, add_spectrum, product_id

SPECTRA = [
    Spectrum(product_id(1), 10.0, -20.0, target="HD 1234", wavelength_nm=(373.0, 500.0), t_min=60371.10),
    Spectrum(product_id(2), 10.01, -20.01, target="HD 1234", wavelength_nm=(476.0, 684.0), t_min=60371.20, arm="RED"),
    Spectrum(product_id(3), 359.99, 0.0, target="EQ STAR", wavelength_nm=(660.0, 1060.0), t_min=60400.0),
    Spectrum(product_id(4), 0.01, 89.99, target="POLARIS-ISH", t_min=60410.0),
]


@pytest.fixture
async def ssa_url(app, db: ArchiveDatabase, archive_store: FileStore):
    await add_release(db)
    for spectrum in SPECTRA:
        await add_spectrum(db, archive_store, spectrum)
    async with serve_in_background(app) as base_url:
        yield f"{base_url}/ssa"


async def search(url: str, **criteria: object) -> pyvo.dal.SSAResults:
    # pyvo is synchronous (requests): keep the test's event loop free.
    return await asyncio.to_thread(lambda: pyvo.dal.SSAService(url).search(**criteria))


async def test_pyvo_cone_search_finds_the_spectra_with_ssa_metadata(ssa_url) -> None:
    results = await search(ssa_url, pos=SkyCoord(10.0, -20.0, unit="deg"), diameter=0.2 * u.deg)
    assert len(results) == 2
    record = results[0]
    assert record.getdataurl().endswith(f"/api/products/{product_id(1)}/file"), "nearest first"
    assert record.format == "application/fits"
    assert record.title.startswith("UVES BLUE spectrum of HD 1234")
    assert record.getbyutype("ssa:Target.Name") == "HD 1234"
    assert record.ra == pytest.approx(10.0) and record.dec == pytest.approx(-20.0)
    assert record.getbyutype("ssa:Char.SpectralAxis.Coverage.Bounds.Start") == pytest.approx(373e-9)
    assert record.getbyutype("ssa:Char.SpectralAxis.Coverage.Bounds.Stop") == pytest.approx(500e-9)
    assert record.getbyutype("ssa:Curation.PublisherDID").endswith(product_id(1))
    assert record.getbyutype("ssa:Char.TimeAxis.Coverage.Bounds.Start") == pytest.approx(60371.10)
    assert record.dateobs is not None


async def test_pyvo_band_and_time_filters(ssa_url) -> None:
    red = await search(ssa_url, band=(600 * u.nm, 650 * u.nm))
    assert [r.getbyutype("ssa:Curation.PublisherDID").rsplit("?", 1)[1] for r in red] == [product_id(2)]
    night = Time(["2024-03-01T12:00:00", "2024-03-02T12:00:00"])
    in_night = await search(ssa_url, time=night)
    assert sorted(r.getdataurl().rsplit("/", 2)[1] for r in in_night) == [product_id(1), product_id(2)]


async def test_pyvo_across_ra_zero_and_near_the_pole(ssa_url) -> None:
    across = await search(ssa_url, pos=SkyCoord(0.005, 0.0, unit="deg"), diameter=0.1 * u.deg)
    assert [r.getbyutype("ssa:Target.Name") for r in across] == ["EQ STAR"]
    pole = await search(ssa_url, pos=SkyCoord(180.0, 90.0, unit="deg"), diameter=0.1 * u.deg)
    assert [r.getbyutype("ssa:Target.Name") for r in pole] == ["POLARIS-ISH"]


async def test_maxrec_overflow_and_metadata(ssa_url) -> None:
    with pytest.warns(pyvo.dal.DALOverflowWarning):
        limited = await search(ssa_url, maxrec=1)
    assert len(limited) == 1
    metadata = await search(ssa_url, format="metadata")
    assert len(metadata) == 0
    utypes = {field.utype for field in metadata.fielddescs}
    assert {"ssa:Access.Reference", "ssa:Access.Format", "ssa:Target.Name", "ssa:DataID.Title",
            "ssa:Char.SpatialAxis.Coverage.Location.Value", "ssa:Char.SpectralAxis.Coverage.Bounds.Start",
            "ssa:Char.SpectralAxis.Coverage.Bounds.Stop", "ssa:Char.TimeAxis.Coverage.Bounds.Start",
            "ssa:Curation.PublisherDID"} <= utypes
    assert {p.name for p in metadata.votable.resources[0].params} >= {"INPUT:POS", "INPUT:SIZE", "INPUT:BAND", "INPUT:TIME"}


async def test_pyvo_reports_a_service_error(ssa_url) -> None:
    with pytest.raises(pyvo.dal.DALQueryError, match="MAXREC .* above this service.s limit"):
        await search(ssa_url, maxrec=10**9)


async def test_the_access_reference_downloads_with_a_token(ssa_url, db) -> None:
    async with db.session() as session:
        _, secret = await create_token(session, "ssa", [Scope.DOWNLOAD])
    results = await search(ssa_url, pos=SkyCoord(10.0, -20.0, unit="deg"), diameter=0.05 * u.deg)
    async with httpx.AsyncClient() as http:
        response = await http.get(results[0].getdataurl(), headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == response.headers["x-checksum-sha256"]


async def test_mjd_time_and_lower_case_parameters(client, db, archive_store) -> None:
    await add_release(db)
    for spectrum in SPECTRA:
        await add_spectrum(db, archive_store, spectrum)
    response = await client.get("/ssa", params={"request": "querydata", "time": "60399.5/60400.5", "format": "fits"})
    assert response.status_code == 200
    table = parse_single_table(io.BytesIO(response.content))
    assert [str(name) for name in table.array["ssa_targname"]] == ["EQ STAR"]
