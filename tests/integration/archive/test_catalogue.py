"""The product catalogue: versions, and searches including cone searches checked by brute force."""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from shared.archive import ArchiveDatabase, catalogue
from shared.archive.catalogue import (
    AncillaryFile,
    NewProduct,
    ProductQuery,
    Provenance,
    add_product,
    deprecate_product,
    get_product,
    make_product_id,
    products_of_ab,
    search_products,
    versions_of,
)
from shared.archive.geometry import Cone, angular_distance_deg
from shared.archive.models import ProductStatus, ProvenanceKind
from shared.archive.releases import save_release
from shared.errors import DataError, TransientError

RAW = Provenance(ProvenanceKind.RAW, "UVES.2024-03-02T03:00:00.000.fits", "a" * 64)
MASTER_BIAS = Provenance(ProvenanceKind.MCALIB, "MB_1.fits", "b" * 64)
INGESTED_AT = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def spectrum(product_id: str, **fields: object) -> NewProduct:
    base = NewProduct(
        product_id=product_id, ab_id="AB.SCI", instrument="UVES", prodcatg="SCIENCE.SPECTRUM",
        access_uri=f"store:sha256/aa/{product_id}.fits", sha256=product_id.encode().hex()[-64:].rjust(64, "0"),
        file_size_bytes=1000, provenance=(RAW, MASTER_BIAS), arm="BLUE", night=date(2024, 3, 1),
        target_name="HD 1234", ra=10.0, dec=-20.0, t_min=60371.1, t_max=60371.2, exposure_seconds=600.0,
        wavelength_min_nm=373.0, wavelength_max_nm=500.0, resolving_power=40000.0, snr=50.0,
        files=(AncillaryFile("PREVIEW", "preview.png", "store:sha256/bb/preview.png", 2000),),
    )
    return replace(base, **fields)


async def add(db: ArchiveDatabase, product: NewProduct):
    async with db.session() as s:
        return await add_product(s, product, at=INGESTED_AT)


async def search(db: ArchiveDatabase, **criteria: object):
    async with db.session() as s:
        return await search_products(s, ProductQuery(**criteria))


def test_product_ids() -> None:
    at = datetime(2026, 11, 24, 19, 0, 0, 123456, tzinfo=UTC)
    assert make_product_id(at, 1) == "PHX.2026-11-24T19:00:00.123.1"


async def test_a_product_is_catalogued_with_provenance_and_files(db: ArchiveDatabase) -> None:
    added = await add(db, spectrum("PHX.1"))
    assert added.created and added.product.version == 1 and added.product.supersedes is None
    async with db.session() as s:
        product = await get_product(s, "PHX.1")
        missing = await get_product(s, "PHX.404")
    assert product is not None and missing is None
    assert [(p.kind, p.name) for p in product.provenance] == [(ProvenanceKind.RAW, RAW.name),
                                                              (ProvenanceKind.MCALIB, MASTER_BIAS.name)]
    assert [(f.kind, f.size_bytes) for f in product.files] == [("PREVIEW", 2000)]
    assert product.ingested_at == INGESTED_AT
    assert product.x is not None and product.status == ProductStatus.CURRENT


async def test_the_same_file_again_is_not_a_new_version(db: ArchiveDatabase) -> None:
    await add(db, spectrum("PHX.1"))
    same_id = await add(db, spectrum("PHX.1"))
    same_file = await add(db, spectrum("PHX.2", sha256=spectrum("PHX.1").sha256))
    assert not same_id.created and not same_file.created
    assert same_file.product.product_id == "PHX.1"
    assert (await search(db)).total == 1


async def test_a_new_version_supersedes_the_current_one(db: ArchiveDatabase) -> None:
    await add(db, spectrum("PHX.1"))
    newer_calibration = Provenance(ProvenanceKind.MCALIB, "MB_2.fits", "c" * 64)
    second = await add(db, spectrum("PHX.2", provenance=(RAW, newer_calibration)))
    third = await add(db, spectrum("PHX.3"))
    assert (second.product.version, second.product.supersedes) == (2, "PHX.1")
    assert (third.product.version, third.product.supersedes) == (3, "PHX.2")
    async with db.session() as s:
        versions = await versions_of(s, "PHX.2")
    assert [(p.product_id, p.status) for p in versions] == [
        ("PHX.1", ProductStatus.OBSOLETE), ("PHX.2", ProductStatus.OBSOLETE), ("PHX.3", ProductStatus.CURRENT)
    ]
    assert [p.product_id for p in (await search(db)).products] == ["PHX.3"]
    assert (await search(db, current_only=False)).total == 3


async def test_other_raw_inputs_or_arms_are_other_products(db: ArchiveDatabase) -> None:
    await add(db, spectrum("PHX.1"))
    other_raw = Provenance(ProvenanceKind.RAW, "UVES.2024-03-02T04:00:00.000.fits", "d" * 64)
    await add(db, spectrum("PHX.2", provenance=(other_raw,)))
    await add(db, spectrum("PHX.3", arm="REDL"))
    async with db.session() as s:
        of_ab = await products_of_ab(s, "AB.SCI")
    assert [(p.product_id, p.status, p.version) for p in of_ab] == [
        ("PHX.1", ProductStatus.CURRENT, 1), ("PHX.2", ProductStatus.CURRENT, 1), ("PHX.3", ProductStatus.CURRENT, 1)
    ]


async def test_a_deprecated_product_leaves_the_current_catalogue(db: ArchiveDatabase) -> None:
    await add(db, spectrum("PHX.1"))
    async with db.session() as s:
        assert await deprecate_product(s, "PHX.1")
        assert not await deprecate_product(s, "PHX.404")
    assert (await search(db)).total == 0


async def test_an_unknown_release_is_a_data_error(db: ArchiveDatabase) -> None:
    with pytest.raises(DataError, match="constraint"):
        await add(db, spectrum("PHX.1", release_name="no such release"))


async def test_search_filters(db: ArchiveDatabase) -> None:
    async with db.session() as s:
        await save_release(s, "R1", stream="UVES_ECHELLE IDP", release_date=date(2025, 1, 1), description="")
    await add(db, spectrum("PHX.1", target_name="HD 1234", snr=10.0, night=date(2024, 3, 1), release_name="R1"))
    await add(db, spectrum("PHX.2", ab_id="AB.2", target_name="hd 1234", snr=80.0, night=date(2024, 3, 5),
                           wavelength_min_nm=565.0, wavelength_max_nm=946.0))
    await add(db, spectrum("PHX.3", ab_id="AB.3", target_name="NGC 6397", snr=120.0, night=date(2024, 4, 1),
                           instrument="GIRAFFE"))

    async def ids(**criteria: object) -> list[str]:
        return sorted(p.product_id for p in (await search(db, **criteria)).products)

    assert await ids(target="HD 1234") == ["PHX.1", "PHX.2"]
    assert await ids(target="ngc 6397") == ["PHX.3"]
    assert await ids(wavelength_min_nm=600.0, wavelength_max_nm=600.0) == ["PHX.2"]
    assert await ids(wavelength_min_nm=480.0, wavelength_max_nm=570.0) == ["PHX.1", "PHX.2", "PHX.3"]
    assert await ids(wavelength_max_nm=372.0) == []
    assert await ids(instrument="GIRAFFE") == ["PHX.3"]
    assert await ids(night_from=date(2024, 3, 2), night_to=date(2024, 3, 31)) == ["PHX.2"]
    assert await ids(min_snr=50.0) == ["PHX.2", "PHX.3"]
    assert await ids(release="R1") == ["PHX.1"]
    assert await ids(target="HD 1234", min_snr=50.0) == ["PHX.2"]


async def test_a_broad_search_counts_its_matches_up_to_a_limit_and_says_so(
    db: ArchiveDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue, "COUNTED_MATCHES", 3)
    for index in range(7):
        await add(db, spectrum(f"PHX.{index}", ab_id=f"AB.{index}", target_name=f"HD {index}"))
    pages = [await search(db, target="hd", limit=limit, offset=offset) for offset, limit in ((0, 2), (3, 3), (6, 3))]
    assert [(page.total, page.total_exact) for page in pages] == [(3, False), (6, False), (7, True)]
    assert [page.continues_after(end) for page, end in zip(pages, (2, 6, 9), strict=True)] == [True, True, False]


async def test_a_target_search_lists_by_target_then_newest(db: ArchiveDatabase) -> None:
    for index, (target, hour) in enumerate((("HD 2", 1), ("HD 10", 2), ("HD 2", 3))):
        async with db.session() as s:
            await add_product(s, spectrum(f"PHX.{index}", ab_id=f"AB.{index}", target_name=target),
                              at=INGESTED_AT.replace(hour=hour))
    assert [p.product_id for p in (await search(db, target="HD")).products] == ["PHX.1", "PHX.2", "PHX.0"]
    assert [p.product_id for p in (await search(db)).products] == ["PHX.2", "PHX.1", "PHX.0"], "newest first"


async def test_paging(db: ArchiveDatabase) -> None:
    for index in range(7):
        await add(db, spectrum(f"PHX.{index}", ab_id=f"AB.{index}"))
    pages = [await search(db, limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [page.total for page in pages] == [7, 7, 7]
    assert [len(page.products) for page in pages] == [3, 3, 1]
    assert len({p.product_id for page in pages for p in page.products}) == 7
    with pytest.raises(DataError):
        await search(db, limit=0)


def random_sky(count: int, seed: int) -> list[tuple[float, float]]:
    """Uniform on the sphere, plus crowds around both poles and along RA 0/360."""
    rng = random.Random(seed)
    points = []
    for index in range(count):
        kind = index % 4
        if kind == 0:
            ra, dec = rng.uniform(0, 360), random_uniform_dec(rng)
        elif kind == 1:
            ra, dec = rng.uniform(0, 360), rng.choice((1, -1)) * rng.uniform(84.0, 90.0)
        elif kind == 2:
            ra, dec = rng.uniform(-6.0, 6.0) % 360.0, rng.uniform(-40.0, 40.0)
        else:
            ra, dec = rng.uniform(0, 360), rng.uniform(-3.0, 3.0)
        points.append((ra, dec))
    return points


def random_uniform_dec(rng: random.Random) -> float:
    return math.degrees(math.asin(rng.uniform(-1.0, 1.0)))


CONES = [
    Cone(0.5, 10.0, 4.0),  # across RA 0/360
    Cone(359.0, -30.0, 4.0),  # across RA 360/0
    Cone(0.0, 0.0, 5.0),
    Cone(10.0, 88.5, 3.0),  # contains the north pole
    Cone(200.0, -87.0, 5.0),  # contains the south pole
    Cone(90.0, 85.0, 4.9),  # just short of the pole: wide RA box
    Cone(270.0, -80.0, 10.5),  # touches past the pole
    Cone(123.0, 45.0, 40.0),
    Cone(0.0, 0.0, 180.0),  # the whole sky
    Cone(-2.0, 1.0, 3.0),  # RA given outside [0, 360)
]


@pytest.mark.parametrize("seed", [7])
async def test_cone_search_matches_brute_force(db: ArchiveDatabase, seed: int) -> None:
    sky = random_sky(900, seed)
    async with db.session() as s:
        for index, (ra, dec) in enumerate(sky):
            await add_product(s, spectrum(f"PHX.{index}", ab_id=f"AB.{index}", ra=ra, dec=dec), at=INGESTED_AT)
    for cone in CONES:
        found = await search(db, cone=cone, limit=1000)
        found_ids = {p.product_id for p in found.products}
        distances = {f"PHX.{i}": angular_distance_deg(cone.ra, cone.dec, ra, dec) for i, (ra, dec) in enumerate(sky)}
        expected = {pid for pid, d in distances.items() if d <= cone.radius_deg}
        borderline = {pid for pid, d in distances.items() if abs(d - cone.radius_deg) < 1e-7}
        assert expected, cone
        assert found_ids - borderline == expected - borderline, cone
        assert found.total == len(found_ids)
        nearest_first = [distances[p.product_id] for p in found.products]
        assert nearest_first == sorted(nearest_first), cone


async def test_cone_search_across_ra_zero_and_over_a_pole(db: ArchiveDatabase) -> None:
    positions = {"PHX.west": (359.9, 0.0), "PHX.east": (0.1, 0.0), "PHX.far": (180.0, 0.0),
                 "PHX.pole_a": (0.0, 89.9), "PHX.pole_b": (180.0, 89.9), "PHX.south": (0.0, -89.9)}
    for product_id, (ra, dec) in positions.items():
        await add(db, spectrum(product_id, ab_id=product_id, ra=ra, dec=dec))

    async def ids(cone: Cone) -> set[str]:
        return {p.product_id for p in (await search(db, cone=cone)).products}

    assert await ids(Cone(0.0, 0.0, 0.5)) == {"PHX.west", "PHX.east"}
    assert await ids(Cone(359.95, 0.0, 0.1)) == {"PHX.west"}
    assert await ids(Cone(90.0, 89.9, 0.2)) == {"PHX.pole_a", "PHX.pole_b"}
    assert await ids(Cone(0.0, -90.0, 0.2)) == {"PHX.south"}


async def test_concurrent_new_versions_form_one_chain(db: ArchiveDatabase) -> None:
    """Ingestors racing on the same product: the loser retries (TransientError) and supersedes the winner."""
    await add(db, spectrum("PHX.0"))

    async def ingest(product: NewProduct) -> None:
        for _ in range(10):
            try:
                await add(db, product)
                return
            except TransientError:
                await asyncio.sleep(0.05)
        raise AssertionError(f"{product.product_id} kept conflicting")

    await asyncio.gather(*(ingest(spectrum(f"PHX.{n}")) for n in range(1, 6)))
    async with db.session() as s:
        versions = await versions_of(s, "PHX.0")
    assert [p.version for p in versions] == [1, 2, 3, 4, 5, 6]
    assert [p.status for p in versions].count(ProductStatus.CURRENT) == 1 and versions[-1].status == ProductStatus.CURRENT
    assert [p.supersedes for p in versions[1:]] == [p.product_id for p in versions[:-1]]
