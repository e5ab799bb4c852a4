"""One date request flows through all five services, run as `phoenix service` processes."""

from __future__ import annotations

import os
import subprocess

import httpx
import pytest

from shared.bus.embedded import free_port
from tests.support.bus import Broker, env_for, read_topic
from tests.support.processes import PHOENIX, ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

SERVICES = ["fetcher", "processor", "qc", "certifier", "ingestor"]


async def test_a_date_request_reaches_ingested(broker: Broker, tmp_path) -> None:
    kafka = broker.settings()
    env = env_for(kafka)
    ports = {name: free_port() for name in SERVICES}
    services = [ServiceProcess(name, {**env, "PHOENIX_METRICS_PORT": str(ports[name])}, tmp_path) for name in SERVICES]
    try:
        for service in services:
            service.wait_for_log("assigned", 60)
        published = subprocess.run(
            [PHOENIX, "request", "UVES_ECHELLE", "2015-02-23", "--to", "2015-02-25", "--mode", "COMPLETE"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True,
        )
        request_id = published.stdout.strip()
        ingested = await read_topic(kafka, "ingested", expected=3, timeout_seconds=90, settle_seconds=1)
        scraped = {name: _scrape(port) for name, port in ports.items()}
    finally:
        codes = [service.stop() for service in services]
    assert {d["correlation_id"] for d in ingested} == {request_id}
    assert sorted(d["ab"]["night"] for d in ingested) == ["2015-02-23", "2015-02-24", "2015-02-25"]
    assert {d["state"] for d in ingested} == {"INGESTED"}
    assert [d["produced_by"].split("@")[0] for d in ingested] == ["ingestor"] * 3
    assert codes == [0] * 5, "every service stopped cleanly on SIGTERM"
    assert all("stopped" in service.log for service in services)
    for name, (ready, text) in scraped.items():
        assert ready == 200, f"{name} is ready"
        assert f'phoenix_events_consumed_total{{service="{name}"' in text
        assert f'phoenix_events_produced_total{{service="{name}"' in text
        assert "phoenix_handler_duration_seconds_bucket" in text and "phoenix_consumer_lag" in text
    assert 'phoenix_events_produced_total{service="ingestor",topic="' + kafka.topic("ingested") + '"} 3.0' in scraped["ingestor"][1]


def _scrape(port: int) -> tuple[int, str]:
    base = f"http://127.0.0.1:{port}"
    return httpx.get(f"{base}/readyz", timeout=5).status_code, httpx.get(f"{base}/metrics", timeout=5).text
