"""Six hosts that share no disk: the five services and the portal, each with its own data
folder and scratch, reaching Kafka, PostgreSQL, the S3 store (s3proxy) and the raw-data archive
only over the network. A night goes through, the products download from the portal, and no
host keeps a FITS file of its own.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.archive.conftest import throwaway_postgres_database
from tests.support.bus import Broker, env_for, read_until
from tests.support.processes import PHOENIX, ServiceProcess
from tools.broker.kafka import free_port
from tools.processes import ChildProcess

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(600)]

SERVICES = ["fetcher", "processor", "qc", "certifier", "ingestor"]
ABS = 12


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    yield from throwaway_postgres_database(postgres_url)


def host_env(root: Path, name: str) -> dict[str, str]:
    """A host's own data folder and private scratch."""
    return {"PHOENIX_DATA_DIR": str(root / name / "data"), "PHOENIX_CACHE_DIR": str(root / name / "cache")}


def fits_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.fits"))


async def test_a_night_goes_through_hosts_that_share_no_disk(
    apache_kafka: str, database_url: str, s3_store_environment: dict[str, str], archive: Path, tmp_path: Path
) -> None:
    kafka = Broker(apache_kafka).settings()
    hosts = tmp_path / "hosts"
    archive_server = ChildProcess(["archive", "serve", "--root", str(archive), "--port", str(free_port())], {},
                                  tmp_path / "archive.log")
    archive_url = archive_server.wait_for_log("archive=", 60).split("archive=", 1)[1].strip()
    shared = env_for(kafka, PHOENIX_DATABASE_URL=database_url, PHOENIX_ARCHIVE_URL=archive_url,
                     PHOENIX_CONCURRENCY="2", **s3_store_environment)
    services = [ServiceProcess(name, {**shared, **host_env(hosts, name)}, tmp_path) for name in SERVICES]
    portal_port = free_port()
    portal = ChildProcess(["portal", "--port", str(portal_port)], {**shared, **host_env(hosts, "portal")},
                          tmp_path / "portal.log")
    try:
        for service in services:
            service.wait_for_log("assigned", 120)
        portal.wait_for_log("portal=", 60)
        published = subprocess.run(
            [PHOENIX, "request", "UVES_ECHELLE", "2024-03-01", "--mode", "COMPLETE"],
            env={**os.environ, **shared}, capture_output=True, text=True, timeout=60, check=True,
        )
        assert published.stdout.strip()
        ingested = await read_until(kafka, "ingested", lambda docs: len({d["ab"]["ab_id"] for d in docs}) >= ABS,
                                    timeout_seconds=420, settle_seconds=2)
        token = subprocess.run(
            [PHOENIX, "token", "create", "--scope", "read", "--scope", "download"],
            env={**os.environ, **shared, **host_env(hosts, "portal")}, capture_output=True, text=True, timeout=60,
            check=True,
        ).stdout.strip().splitlines()[-1]
        downloads = _download_every_product(f"http://127.0.0.1:{portal_port}", token)
    finally:
        codes = [service.stop() for service in services] + [portal.stop(), archive_server.stop()]
    states = {d["ab"]["raw_type"]: (d["state"], d["reason"]) for d in ingested}
    assert {state for state, _ in states.values()} == {"INGESTED"}, states
    assert len(downloads) >= 2, "the two science spectra download from the portal"
    for content, sha256 in downloads:
        assert content.startswith(b"SIMPLE") and hashlib.sha256(content).hexdigest() == sha256
    assert codes[: len(SERVICES)] == [0] * len(SERVICES)
    for name in [*SERVICES, "portal"]:
        assert fits_files(hosts / name) == [], f"{name}'s host keeps no FITS file"


def _download_every_product(url: str, token: str) -> list[tuple[bytes, str]]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        page = client.get("/api/products", params={"limit": 100})
        page.raise_for_status()
        downloads = []
        for product in page.json()["products"]:
            response = client.get(f"/api/products/{product['product_id']}/file")
            response.raise_for_status()
            downloads.append((response.content, response.headers["x-checksum-sha256"]))
    return downloads
