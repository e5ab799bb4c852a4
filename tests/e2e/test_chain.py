"""A simulated night through the five services, run as `phoenix service` processes, on Apache
Kafka with PostgreSQL (`phoenix run`, in test_run_command.py, covers the SQLite database).

COMPLETE mode: the master calibrations are made from the night's raw calibrations by the real
pipeline, certified and registered in the calibration store, which releases the science ABs;
their SDP spectra are ingested.
"""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.archive.conftest import throwaway_postgres_database
from tests.support.bus import Broker, env_for, read_until
from tests.support.processes import PHOENIX, ServiceProcess
from tools.broker.kafka import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(420)]

SERVICES = ["fetcher", "processor", "qc", "certifier", "ingestor"]
CALIBRATION_ABS = 10
SCIENCE_ABS = 2


@pytest.fixture
def database_env(postgres_url: str) -> Iterator[dict[str, str]]:
    for url in throwaway_postgres_database(postgres_url):
        yield {"PHOENIX_DATABASE_URL": url}


async def test_a_simulated_night_is_processed_end_to_end(broker: Broker, database_env, archive, tmp_path) -> None:
    kafka = broker.settings()
    env = env_for(kafka, PHOENIX_DATA_DIR=str(tmp_path / "data"), PHOENIX_ARCHIVE_URL=str(archive),
                  PHOENIX_CONCURRENCY="2", **database_env)
    ports = {name: free_port() for name in SERVICES}
    services = [ServiceProcess(name, {**env, "PHOENIX_METRICS_PORT": str(ports[name])}, tmp_path) for name in SERVICES]
    try:
        for service in services:
            service.wait_for_log("assigned", 120)
        published = subprocess.run(
            [PHOENIX, "request", "UVES_ECHELLE", "2024-03-01", "--mode", "COMPLETE"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True,
        )
        request_id = published.stdout.strip()
        ingested = await read_until(
            kafka, "ingested", lambda docs: len({d["ab"]["ab_id"] for d in docs}) >= CALIBRATION_ABS + SCIENCE_ABS,
            timeout_seconds=300, settle_seconds=2)
        scraped = {name: _scrape(port) for name, port in ports.items()}
    finally:
        codes = [service.stop() for service in services]
    by_type = {d["ab"]["raw_type"]: d for d in ingested}
    assert len(by_type) == CALIBRATION_ABS + SCIENCE_ABS, "every AB reached ingested"
    event_ids = defaultdict(set)
    for document in ingested:
        event_ids[document["ab"]["ab_id"]].add(document["event_id"])
    assert all(len(ids) == 1 for ids in event_ids.values()), (
        "one final event per AB: a redelivery (at-least-once) repeats the same event id"
    )
    assert {d["correlation_id"] for d in ingested} == {request_id}
    assert {raw_type: d["state"] for raw_type, d in by_type.items()} == dict.fromkeys(by_type, "INGESTED"), (
        {raw_type: d["reason"] for raw_type, d in by_type.items()}
    )
    for arm in ("BLUE", "RED"):
        assert [p for p in by_type[f"SCI_POINT_{arm}"]["product_ids"] if p.startswith("PHX.")], f"{arm} IDP archived"
        assert any(p.startswith(f"UVES.MASTER_FLAT_{arm[:3]}") for p in by_type[f"FLAT_{arm}"]["product_ids"])
    assert codes == [0] * len(SERVICES), "every service stopped cleanly on SIGTERM"
    for name, (ready, text) in scraped.items():
        assert ready == 200, f"{name} is ready"
        assert f'phoenix_events_produced_total{{service="{name}"' in text
    assert 'phoenix_recipe_runs_total{outcome="succeeded",recipe="uves_obs_scired"}' in scraped["processor"][1]


def _scrape(port: int) -> tuple[int, str]:
    base = f"http://127.0.0.1:{port}"
    return httpx.get(f"{base}/readyz", timeout=5).status_code, httpx.get(f"{base}/metrics", timeout=5).text
