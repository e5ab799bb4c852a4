"""Six hosts that share no disk: the five services and the portal, each with its own data
folder and scratch and, where the machine allows it (root, iproute2), its own network
namespace. They reach Kafka, PostgreSQL, the S3 store (s3proxy) and the raw-data archive only
over addresses of namespaces this test made. A night goes through, the products download from
the portal, and no host keeps a FITS file. The night is the blue arm only (6 ABs): the claim is
about where files live and how hosts reach each other, not about the arms (test_chain.py runs both).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.settings import KafkaSettings
from tests.support import netns
from tests.support.apache_kafka import ApacheKafka
from tests.support.bus import Broker, env_for, read_until
from tests.support.fixtures import S3_BUCKET, new_s3proxy
from tests.support.postgres import PostgresServer
from tests.support.processes import PHOENIX, ServiceProcess
from tools.broker.kafka import free_port
from tools.processes import ChildProcess

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(900)]

SERVICES = ["fetcher", "processor", "qc", "certifier", "ingestor"]
HOSTS = [*SERVICES, "portal"]
ABS = 6


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    prefix: tuple[str, ...]
    root: Path

    @property
    def env(self) -> dict[str, str]:
        """Its own data folder and private scratch."""
        return {"PHOENIX_DATA_DIR": str(self.root / "data"), "PHOENIX_CACHE_DIR": str(self.root / "cache")}


@dataclass(frozen=True)
class Site:
    """The shared servers, and the hosts reaching them."""

    kafka: KafkaSettings
    env: dict[str, str]
    hosts: dict[str, Host]
    isolated: bool


@pytest.fixture
def site(blue_archive: Path, tmp_path: Path) -> Iterator[Site]:
    network = netns.HostNetwork() if netns.available() else None
    servers: list = []
    try:
        hub = network.hub if network else netns.Namespace("loopback", "127.0.0.1")
        prefix = hub.exec if network else ()
        kafka = ApacheKafka(tmp_path / "kafka", host=hub.address, namespace=prefix)
        postgres = PostgresServer(host=hub.address, namespace=prefix)
        s3 = new_s3proxy(tmp_path / "s3", host=hub.address, namespace=prefix)
        for server in (kafka, postgres, s3):
            servers.append(server)
            server.start()
        archive_server = ChildProcess(["archive", "serve", "--root", str(blue_archive), "--host", hub.address,
                                       "--port", str(free_port())], {}, tmp_path / "archive.log", prefix)
        servers.append(archive_server)
        archive_url = archive_server.wait_for_log("archive=", 60).split("archive=", 1)[1].strip()
        settings = Broker(kafka.bootstrap_servers).settings()
        env = env_for(settings, PHOENIX_DATABASE_URL=postgres.url, PHOENIX_ARCHIVE_URL=archive_url,
                      PHOENIX_CONCURRENCY="2", **s3.environment(S3_BUCKET))
        hosts = {}
        for name in HOSTS:
            namespace = network.add_host(name) if network else hub
            hosts[name] = Host(name, namespace.address, namespace.exec if network else (), tmp_path / "hosts" / name)
        yield Site(settings, env, hosts, isolated=network is not None)
    finally:
        for server in reversed(servers):
            server.close() if isinstance(server, PostgresServer) else server.stop()
        if network is not None:
            network.close()


def fits_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.fits"))


async def test_a_night_goes_through_hosts_that_share_no_disk(site: Site, tmp_path: Path) -> None:
    portal_host = site.hosts["portal"]
    services = [ServiceProcess(name, {**site.env, **site.hosts[name].env}, tmp_path, prefix=site.hosts[name].prefix)
                for name in SERVICES]
    portal = ChildProcess(["portal", "--host", portal_host.address, "--port", str(free_port())],
                          {**site.env, **portal_host.env}, tmp_path / "portal.log", portal_host.prefix)
    try:
        for service in services:
            service.wait_for_log("assigned", 120)
        portal_url = portal.wait_for_log("portal=", 60).split("portal=", 1)[1].strip()
        _phoenix(portal_host, site.env, "request", "UVES_ECHELLE", "2024-03-01", "--mode", "COMPLETE")
        ingested = await read_until(site.kafka, "ingested", lambda docs: len({d["ab"]["ab_id"] for d in docs}) >= ABS,
                                    timeout_seconds=600, settle_seconds=2)
        token = _phoenix(portal_host, site.env, "token", "create", "--scope", "read", "--scope", "download")
        downloads = _download_every_product(portal_url, token)
    finally:
        codes = [service.stop() for service in services]
        portal.stop()
    assert site.isolated or not netns.available(), "hosts get network namespaces wherever the machine allows"
    states = {d["ab"]["raw_type"]: (d["state"], d["reason"]) for d in ingested}
    assert {state for state, _ in states.values()} == {"INGESTED"}, states
    assert len(downloads) >= 1, "the science spectrum downloads from the portal"
    for content, sha256 in downloads:
        assert content.startswith(b"SIMPLE") and hashlib.sha256(content).hexdigest() == sha256
    assert codes == [0] * len(SERVICES), "every service stopped cleanly"
    for host in site.hosts.values():
        assert fits_files(host.root) == [], f"{host.name}'s host keeps no FITS file"


def _phoenix(host: Host, env: dict[str, str], *args: str) -> str:
    """A `phoenix` command run on `host`; its last output line."""
    result = subprocess.run([*host.prefix, PHOENIX, *args], env={**os.environ, **env, **host.env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


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
