"""Scenarios 3 and 4: Apache Kafka stopped for 20 s during processing; PostgreSQL down for 20 s during ingestion;
and the S3 file store (s3proxy) stopped for 20 s while recipes run."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.conftest import NIGHT, ChainFactory
from tests.faults.harness import Chain, Invariants
from tests.support.fixtures import S3_BUCKET, new_s3proxy
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(360)]

OUTAGE_SECONDS = 20


async def _until(condition, timeout_seconds: float = 120) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, "the moment to inject the fault never came"
        await asyncio.sleep(0.1)


def _recipe_started(chain: Chain) -> bool:
    return any(" started (pid " in p.log for p in chain.replicas["processor"])


async def test_kafka_stopped_for_20_s_during_processing(chain_factory: ChainFactory, apache_kafka_factory) -> None:
    kafka = apache_kafka_factory()
    with chain_factory(bootstrap_servers=kafka.bootstrap_servers) as chain:
        found = await _stopped_while_recipes_run(chain, kafka, f"3 Kafka stopped {OUTAGE_SECONDS} s")
    assert found.states["INGESTED"] >= 1


async def test_postgres_down_for_20_s_during_ingestion(chain_factory: ChainFactory, postgres_factory) -> None:
    from tests.faults.conftest import database_on

    server = postgres_factory()
    with chain_factory(database_url=database_on(server)) as chain:
        chain.start_all()
        await chain.publish(NIGHT)
        ingesting = False

        async def watch() -> None:
            nonlocal ingesting
            while not ingesting:
                ingesting = (await chain.lag())["ingestor:certified"] > 0
                await asyncio.sleep(0.05)

        await asyncio.wait_for(watch(), 180)
        server.stop()
        await asyncio.sleep(OUTAGE_SECONDS)
        server.start()
        await chain.wait_settled(240)
        found = await chain.check(f"4 PostgreSQL down {OUTAGE_SECONDS} s during ingestion")
    assert found.states["INGESTED"] >= 1


@pytest.mark.timeout(600)
async def test_s3_store_stopped_for_20_s_mid_night(chain_factory: ChainFactory, tmp_path) -> None:
    s3 = new_s3proxy(tmp_path / "s3")
    with s3, chain_factory(extra_env=s3.environment(S3_BUCKET)) as chain:
        found = await _stopped_while_recipes_run(chain, s3, f"S3 store stopped {OUTAGE_SECONDS} s mid-night")
    assert found.states["INGESTED"] >= 1


async def _stopped_while_recipes_run(chain: Chain, server: ServerProcess, scenario: str) -> Invariants:
    """A night published, `server` stopped for the outage once a recipe runs, then the invariant."""
    chain.start_all()
    await chain.publish(NIGHT)
    await _until(lambda: _recipe_started(chain))
    server.stop()
    await asyncio.sleep(OUTAGE_SECONDS)
    server.start()
    await chain.wait_settled(240)
    return await chain.check(scenario)
