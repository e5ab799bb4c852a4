"""Search and cone search over the JSON API, checked against brute force, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import httpx

from shared.archive import ArchiveDatabase
from shared.archive.geometry import angular_distance_deg
from shared.storage import FileStore
from tests.integration.portal.seed import RELEASE, Spectrum, add_release, add_spectrum, product_id

# Sources around both poles, across RA 0/360, and a few elsewhere.
POSITIONS = [
    (0.2, 89.95), (180.0, 89.9), (95.0, 89.7), (300.0, -89.9), (10.0, -89.95),
    (359.95, 0.0), (0.05, 0.01), (359.5, 0.3), (0.6, -0.2), (180.0, 0.0),
    (120.0, 45.0), (240.0, -45.0), (10.0, -20.0),
]


async def seed_positions(db: ArchiveDatabase, archive_store: FileStore) -> dict[str, tuple[float, float]]:
    await add_release(db)
    positions = {}
    for index, (ra, dec) in enumerate(POSITIONS, start=1):
        positions[product_id(index)] = (ra, dec)
        await add_spectrum(db, archive_store, Spectrum(product_id(index), ra, dec, target=f"STAR {index}"))
    return positions


def expected_in_cone(positions: dict[str, tuple[float, float]], ra: float, dec: float, radius: float) -> set[str]:
    return {pid for pid, (r, d) in positions.items() if angular_distance_deg(ra, dec, r, d) <= radius}


async def cone(client: httpx.AsyncClient, ra: float, dec: float, radius: float) -> dict:
    response = await client.get("/api/products", params={"ra": ra, "dec": dec, "radius": radius, "limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()


async def test_cone_searches_near_the_poles_and_across_ra_zero(client, db, archive_store) -> None:
    positions = await seed_positions(db, archive_store)
    cones = [(0.0, 90.0, 0.5), (200.0, 89.8, 0.3), (0.0, -90.0, 0.2), (0.0, 0.0, 1.0), (359.9, 0.0, 0.5),
             (0.3, 0.0, 0.4), (180.0, 0.0, 0.01), (120.0, 45.0, 5.0), (50.0, 50.0, 1.0)]
    for ra, dec, radius in cones:
        page = await cone(client, ra, dec, radius)
        found = {p["product_id"] for p in page["products"]}
        assert found == expected_in_cone(positions, ra, dec, radius), (ra, dec, radius)
        distances = [p["distance_deg"] for p in page["products"]]
        assert distances == sorted(distances), "nearest first"
        assert page["total"] == len(found)


async def test_random_cones_match_brute_force(client, db, archive_store) -> None:
    positions = await seed_positions(db, archive_store)
    generator = random.Random(7)
    for _ in range(25):
        ra, dec = generator.uniform(0, 360), generator.uniform(-90, 90)
        radius = generator.choice([0.5, 5.0, 30.0, 95.0])
        page = await cone(client, ra, dec, radius)
        assert {p["product_id"] for p in page["products"]} == expected_in_cone(positions, ra, dec, radius)


async def test_filters_combine(client, db, archive_store) -> None:
    await add_release(db)
    base = Spectrum(product_id(1), 10.0, -20.0)
    await add_spectrum(db, archive_store, base)
    await add_spectrum(db, archive_store, replace(base, product_id=product_id(2), target="HD 99", snr=12.0,
                                                 wavelength_nm=(476.0, 684.0), arm="RED"))
    await add_spectrum(db, archive_store, replace(base, product_id=product_id(3), night=date(2024, 5, 2),
                                                 wavelength_nm=(660.0, 1060.0), arm="REDL", ab_id="AB.OTHER"))

    async def ids(**params: object) -> list[str]:
        response = await client.get("/api/products", params=params)
        assert response.status_code == 200, response.text
        return sorted(p["product_id"] for p in response.json()["products"])

    assert await ids(target="hd 99") == [product_id(2)]
    assert await ids(min_snr=20) == [product_id(1), product_id(3)]
    assert await ids(wavelength_min_nm=600, wavelength_max_nm=650) == [product_id(2)]
    assert await ids(wavelength_min_nm=1000) == [product_id(3)]
    assert await ids(night_from="2024-04-01") == [product_id(3)]
    assert await ids(night_from="2024-03-01", night_to="2024-03-01") == [product_id(1), product_id(2)]
    assert await ids(instrument="UVES", release=RELEASE, target="HD 1234") == [product_id(1), product_id(3)]
    assert await ids(instrument="GIRAFFE") == []
    assert await ids(release="no such release") == []


async def test_paging_covers_every_match_once(client, db, archive_store) -> None:
    await add_release(db)
    for index in range(1, 8):
        await add_spectrum(db, archive_store, Spectrum(product_id(index), 10.0 + index, -20.0))
    seen: list[str] = []
    url: str | None = "/api/products?limit=3"
    while url:
        page = (await client.get(url)).json()
        assert page["total"] == 7 and page["limit"] == 3
        seen.extend(p["product_id"] for p in page["products"])
        url = page["next"]
    assert sorted(seen) == sorted(product_id(i) for i in range(1, 8))
    empty = (await client.get("/api/products", params={"offset": 50})).json()
    assert empty["products"] == [] and empty["total"] == 7 and empty["next"] is None


async def test_superseded_versions_only_on_request(client, db, archive_store) -> None:
    await add_release(db)
    first = Spectrum(product_id(1), 10.0, -20.0, raw_name="UVES.raw.fits", content=b"v1".ljust(2880))
    await add_spectrum(db, archive_store, first)
    await add_spectrum(db, archive_store, replace(first, product_id=product_id(2), content=b"v2".ljust(2880)))
    current = (await client.get("/api/products")).json()
    assert [p["product_id"] for p in current["products"]] == [product_id(2)]
    everything = (await client.get("/api/products", params={"include_obsolete": "true"})).json()
    assert {p["product_id"]: p["status"] for p in everything["products"]} == {
        product_id(1): "OBSOLETE", product_id(2): "CURRENT"}
    detail = (await client.get(f"/api/products/{product_id(1)}")).json()
    assert [(v["product_id"], v["version"], v["status"]) for v in detail["versions"]] == [
        (product_id(1), 1, "OBSOLETE"), (product_id(2), 2, "CURRENT")]


async def test_metadata_has_provenance_files_and_links(client, db, archive_store) -> None:
    await add_release(db)
    await add_spectrum(db, archive_store, Spectrum(product_id(1), 10.0, -20.0))
    detail = (await client.get(f"/api/products/{product_id(1)}")).json()
    assert detail["ab_id"] and detail["release"] == RELEASE
    assert {p["kind"] for p in detail["provenance"]} == {"RAW", "MCALIB"}
    assert [f["name"] for f in detail["files"]] == ["preview.png"]
    assert detail["links"]["file"].endswith(f"/api/products/{product_id(1)}/file")
    preview = await client.get(detail["files"][0]["url"].removeprefix("http://portal.test"))
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")
