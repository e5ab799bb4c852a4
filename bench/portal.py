"""Portal figures: cone-search latency over 100,000 synthetic products, SQLite file and PostgreSQL,
then the latency of every page people open (landing, search form by target and by position, the
product page, the JSON search and metadata, the history and QC-trend pages, the API docs).

    .venv/bin/python bench/portal.py [--products 100000] [--searches 200] [--radius 0.5]

Products are spread uniformly over the sphere (bulk-inserted rows with the unit vectors the
catalogue stores). Each search is a `GET /api/products?ra=&dec=&radius=` through the portal app
in process (httpx ASGI transport: routing, the catalogue query, JSON), at random centres,
including some near the poles and across RA 0/360. PostgreSQL is a throwaway cluster started
the way the tests start one; the bulk insert is followed by VACUUM ANALYZE, as autovacuum does
after inserts (the planner's statistics, and the visibility map that lets a count read an index only). Prints median and p95 in ms, and the mean number of matches; then
one line per page: median and p95 over `--page-requests` requests (the ledger and QC1 tables are
empty here, so the history pages measure their fixed cost, not a filled ledger).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from services.portal.service import create_app  # noqa: E402
from services.portal.settings import PortalSettings  # noqa: E402
from shared.archive import ArchiveDatabase, upgrade_to_head  # noqa: E402
from shared.archive.catalogue import target_key  # noqa: E402
from shared.archive.geometry import unit_vector  # noqa: E402
from shared.archive.models import Product, ProductStatus  # noqa: E402
from shared.archive.settings import sqlite_url  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402

BATCH = 5000
FIRST_NIGHT = date(2020, 1, 1)


def synthetic_rows(count: int, seed: int = 1) -> list[dict[str, object]]:
    generator = random.Random(seed)
    ingested_at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for index in range(count):
        ra = generator.uniform(0.0, 360.0)
        dec = math.degrees(math.asin(generator.uniform(-1.0, 1.0)))  # uniform on the sphere
        x, y, z = unit_vector(ra, dec)
        low = generator.choice([303.0, 326.0, 373.0, 476.0, 660.0])
        rows.append({
            "product_id": f"PHX.2026-01-01T00:00:00.000.{index}", "ab_id": f"AB.{index // 4}",
            "lineage_key": hashlib.sha256(str(index).encode()).hexdigest(), "instrument": "UVES",
            "night": FIRST_NIGHT + timedelta(days=index % 1500), "target_name": f"STAR {index % 20000}",
            "target_key": target_key(f"STAR {index % 20000}"),
            "ra": ra, "dec": dec, "x": x, "y": y, "z": z, "t_min": 58849.0 + index % 1500,
            "t_max": 58849.02 + index % 1500, "exposure_seconds": 1200.0, "wavelength_min_nm": low,
            "wavelength_max_nm": low + 150.0, "resolving_power": 40000.0, "snr": generator.uniform(5, 200),
            "calib_level": 2, "file_size_bytes": 2_000_000, "sha256": "0" * 64,
            "access_uri": f"archive:PHX.2026-01-01T00:00:00.000.{index}.fits", "prodcatg": "SCIENCE.SPECTRUM",
            "arm": "BLUE", "status": ProductStatus.CURRENT, "version": 1, "ingested_at": ingested_at,
        })
    return rows


async def fill(url: str, rows: list[dict[str, object]]) -> float:
    await upgrade_to_head(url)
    started = time.perf_counter()
    async with ArchiveDatabase(url) as db:
        for start in range(0, len(rows), BATCH):
            async with db.session() as session:
                await session.execute(insert(Product), rows[start:start + BATCH])
        if db.dialect == "postgresql":  # what autovacuum does after a bulk load (PostgreSQL >= 13)
            async with db.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE products"))
    return time.perf_counter() - started


def search_centres(count: int, seed: int = 2) -> list[tuple[float, float]]:
    generator = random.Random(seed)
    special = [(0.0, 89.9), (180.0, -89.95), (359.9, 0.0), (0.1, 10.0), (359.95, -30.0)]
    centres = [(generator.uniform(0, 360), math.degrees(math.asin(generator.uniform(-1, 1))))
               for _ in range(count - len(special))]
    return special + centres


async def time_searches(url: str, data_dir: Path, centres: list[tuple[float, float]], radius: float
                        ) -> tuple[list[float], float]:
    app = create_app(PortalSettings(database_url=url, data_dir=data_dir, migrate=False))
    latencies, matches = [], []
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            await http.get("/api/products", params={"ra": 1, "dec": 1, "radius": radius})  # warm the pool
            for ra, dec in centres:
                started = time.perf_counter()
                response = await http.get("/api/products", params={"ra": ra, "dec": dec, "radius": radius,
                                                                   "limit": 1000})
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                matches.append(response.json()["total"])
    return latencies, statistics.fmean(matches)


PAGES = ("/", "/search?target=star+1234", "/search?target=STAR1", "/search?ra=120&dec=-30&radius=1",
         "/products/PHX.2026-01-01T00:00:00.000.1234", "/api/products?target=star%2012", "/api/products?target=s",
         "/api/products/PHX.2026-01-01T00:00:00.000.1234", "/history/", "/history/qc/UVES_ECHELLE", "/docs")


async def time_pages(url: str, data_dir: Path, requests: int) -> dict[str, list[float]]:
    app = create_app(PortalSettings(database_url=url, data_dir=data_dir, migrate=False))
    latencies: dict[str, list[float]] = {page: [] for page in PAGES}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            for _ in range(requests):
                for page in PAGES:  # interleaved, so a busy moment of the machine hits every page alike
                    started = time.perf_counter()
                    response = await http.get(page, headers={"accept": "text/html"})
                    latencies[page].append(time.perf_counter() - started)
                    response.raise_for_status()
    return latencies


def p95_ms(latencies: list[float]) -> float:
    ms = sorted(1000 * t for t in latencies)
    return ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]


def report(name: str, fill_seconds: float, latencies: list[float], mean_matches: float, rows: int) -> None:
    ms = sorted(1000 * t for t in latencies)
    p95 = p95_ms(latencies)
    print(f"{name:<11} {rows:>8} rows (insert {fill_seconds:5.1f} s)  cone search: median {statistics.median(ms):6.2f} ms"
          f"  p95 {p95:6.2f} ms  over {len(ms)} searches, {mean_matches:.1f} matches on average")


async def bench(url: str, name: str, data_dir: Path, rows: list[dict[str, object]], arguments) -> None:
    fill_seconds = await fill(url, rows)
    latencies, mean_matches = await time_searches(url, data_dir, search_centres(arguments.searches),
                                                  arguments.radius)
    report(name, fill_seconds, latencies, mean_matches, len(rows))
    for page, times in (await time_pages(url, data_dir, arguments.page_requests)).items():
        print(f"{name} {page} page: median {1000 * statistics.median(times):7.2f} ms  p95 {p95_ms(times):7.2f} ms"
              f"  over {len(times)} requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--radius", type=float, default=0.5, help="cone radius [deg]")
    parser.add_argument("--page-requests", type=int, default=40, help="requests per page")
    arguments = parser.parse_args()
    rows = synthetic_rows(arguments.products)
    print(f"cone radius {arguments.radius} deg; GET /api/products through the portal app (in process)")
    with tempfile.TemporaryDirectory(prefix="phoenix-bench-portal-") as folder:
        data_dir = Path(folder)
        asyncio.run(bench(sqlite_url(data_dir / "phoenix.db"), "SQLite", data_dir, rows, arguments))
        with PostgresServer() as server:
            asyncio.run(bench(server.url, "PostgreSQL", data_dir, rows, arguments))


if __name__ == "__main__":
    main()
