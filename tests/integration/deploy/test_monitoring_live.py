"""Monitoring against a running chain: Debian's Prometheus scrapes the five services (as
`phoenix service` processes on Apache Kafka) every second, and every PromQL
expression of the dashboard and the rules is queried through Prometheus's HTTP API."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from shared.bus.publish import publish
from shared.contracts import ProcessingMode
from tests.integration.deploy.monitoring import (
    NOT_EXPORTED_YET,
    RULES,
    Expression,
    dashboard_expressions,
    metric_name,
    prometheus_binary,
    rule_expressions,
    selectors,
)
from tests.support.bus import Broker, env_for, read_topic, request, send_raw
from tests.support.processes import ServiceProcess
from tools.broker.kafka import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(400)]
CHAIN_ABS = 6
"""ABs of the small night's blue arm in COMPLETE mode: 5 master-calibration ABs and 1 science AB
(every recipe runs, so every recipe-labelled series gets data; the red arm would only double the work)."""

SERVICES = ["fetcher", "processor", "qc", "certifier", "ingestor"]
FAULTY = "tests.integration.deploy.faulty:SERVICE"


def test_every_dashboard_and_rule_expression_returns_data(broker: Broker, blue_archive: Path, tmp_path: Path) -> None:
    kafka = broker.settings()
    env = env_for(kafka, PHOENIX_ARCHIVE_URL=str(blue_archive), PHOENIX_DATA_DIR=str(tmp_path / "data"))
    ports = {name: free_port() for name in [*SERVICES, "faulty"]}
    processes = [ServiceProcess(name, {**env, "PHOENIX_METRICS_PORT": str(ports[name])}, tmp_path) for name in SERVICES]
    processes.append(ServiceProcess(FAULTY, {**env, "PHOENIX_METRICS_PORT": str(ports["faulty"])}, tmp_path, "faulty"))
    prometheus = None
    try:
        prometheus, api = _start_prometheus(ports, tmp_path)
        for process in processes:
            process.wait_for_log("assigned", 60)
        _run_the_chain(kafka)
        _wait_for_scrapes(api, ingested=CHAIN_ABS)
        failures = _query_everything(api)
    finally:
        codes = [process.stop() for process in processes]
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(timeout=30)
    assert not failures, "expressions without data:\n" + "\n".join(failures)
    assert codes == [0] * len(processes)


def _start_prometheus(ports: dict[str, int], tmp_path: Path) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    """Debian's Prometheus with the deployment's rules and a static target per service (job = service)."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": name, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]} for name, port in ports.items()
        ],
    }
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        [prometheus_binary(), f"--config.file={config_path}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"prometheus exited:\n{(tmp_path / 'prometheus.log').read_text()[-3000:]}")
        try:
            if api.get("/-/ready").status_code == 200:
                return process, api
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise AssertionError("prometheus was not ready within 30 s")


def _run_the_chain(kafka) -> None:
    async def run() -> None:
        # The simulated night runs through the real chain; the priority-0 request of a night
        # without data fails in the faulty service, and the undecodable message is dead-lettered.
        await publish(kafka, [request("2024-03-01", mode=ProcessingMode.COMPLETE), request("2024-03-05", priority=0)])
        await send_raw(kafka, "date-requested", [b"this is not json"])
        ingested = await read_topic(kafka, "ingested", expected=CHAIN_ABS, timeout_seconds=240)
        assert len(ingested) == CHAIN_ABS

    asyncio.run(run())


def _wait_for_scrapes(api: httpx.Client, ingested: int) -> None:
    """Until Prometheus has scraped the finished chain a few times and evaluated the rules."""
    deadline = time.monotonic() + 60
    query = f'count_over_time(phoenix_events_produced_total{{service="ingestor"}}[1m]) and phoenix_events_produced_total{{service="ingestor"}} == {ingested}'
    settled_since = None
    while time.monotonic() < deadline:
        if _query(api, query):
            settled_since = settled_since or time.monotonic()
            if time.monotonic() - settled_since >= 3.5 and _query(api, "phoenix:consumer_lag:sum"):
                return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus did not see {ingested} ingested events within 60 s")


def _query_everything(api: httpx.Client) -> list[str]:
    rules = rule_expressions()
    recorded = {e.name: e for e in rules if e.kind == "record"}
    failures = []
    for expression in dashboard_expressions() + rules:
        if _waits_for_another_issue(expression, recorded):
            continue
        if expression.kind == "alert":
            # An alert's condition is false in a healthy chain; it must evaluate, and every
            # series it reads must exist.
            _query(api, expression.promql)
            failures += [f"{expression.where}: {s}" for s in set(selectors(expression.promql))
                         if not _query(api, f"last_over_time({s}[1m])")]
        elif not _query(api, expression.promql):
            failures.append(f"{expression.where}: {expression.promql}")
    # The poison message makes the dead-letter alert's condition true (its first dead letter).
    dead_letters = next(e for e in rules if e.name == "PhoenixDeadLetters")
    if not _query(api, dead_letters.promql):
        failures.append(f"{dead_letters.where} did not see the dead-lettered message")
    return failures


def _waits_for_another_issue(expression: Expression, recorded: dict[str, Expression]) -> bool:
    names = {metric_name(s) for s in selectors(expression.promql)}
    names |= {metric_name(s) for name in names & set(recorded) for s in selectors(recorded[name].promql)}
    return bool(names & set(NOT_EXPORTED_YET))


def _query(api: httpx.Client, promql: str) -> list[dict]:
    response = api.get("/api/v1/query", params={"query": promql})
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", f"{promql}: {body}"
    return body["data"]["result"]
