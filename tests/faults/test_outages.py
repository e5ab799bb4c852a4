"""Scenarios 3 and 4 and the file store's outage, in one run of the chain on an Apache Kafka, a PostgreSQL
and an S3 store (s3proxy) of its own: the S3 store stopped for 20 s once the first recipes run, then
Kafka stopped for 20 s once a later recipe runs, then PostgreSQL stopped for 20 s during ingestion.

Each outage comes back before the next begins, at a later step of the night's cascade (the science
AB's recipe waits for the masters to be ingested, so a recipe runs after the first outage and an AB is
ingested after the second). The order keeps the outages that use up a message's retries (S3 and
PostgreSQL: a failing handler) apart by the Kafka outage, which does not (publishing waits for the
broker), so no message meets two of them within one retry budget. The invariant, checked once the
night has settled, covers all three.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.faults.conftest import NIGHT, ChainFactory, database_on
from tests.faults.harness import Chain
from tests.support.fixtures import S3_BUCKET, new_s3proxy
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(600)]

OUTAGE_SECONDS = 20


async def _until(condition: Callable[[], bool], moment: str, timeout_seconds: float = 180) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"the moment to inject the fault never came: {moment}"
        await asyncio.sleep(0.1)


def _recipes_started(chain: Chain) -> int:
    return sum(p.log.count(" started (pid ") for p in chain.replicas["processor"])


async def _ingesting(chain: Chain, timeout_seconds: float = 180) -> None:
    """Until the ingestor has a certified AB not yet committed."""
    deadline = time.monotonic() + timeout_seconds
    while (await chain.lag())["ingestor:certified"] == 0:
        assert time.monotonic() < deadline, "the moment to inject the fault never came: an ingestion"
        await asyncio.sleep(0.05)


async def _stopped(server: ServerProcess) -> None:
    server.stop()
    await asyncio.sleep(OUTAGE_SECONDS)
    server.start()


async def test_s3_kafka_and_postgres_each_stopped_for_20_s_in_turn(
    chain_factory: ChainFactory, apache_kafka_factory, postgres_factory, tmp_path
) -> None:
    kafka = apache_kafka_factory()
    database = postgres_factory()
    s3 = new_s3proxy(tmp_path / "s3")
    with s3, chain_factory(bootstrap_servers=kafka.bootstrap_servers, database_url=database_on(database),
                           extra_env=s3.environment(S3_BUCKET)) as chain:
        chain.start_all()
        await chain.publish(NIGHT)
        await _until(lambda: _recipes_started(chain) > 0, "a first recipe")
        await _stopped(s3)
        recipes = _recipes_started(chain)
        await _until(lambda: _recipes_started(chain) > recipes, "a recipe after the S3 store came back")
        await _stopped(kafka)
        await _ingesting(chain)
        await _stopped(database)
        await chain.wait_settled(240)
        found = await chain.check(f"S3 store, then 3 Kafka, then 4 PostgreSQL (during ingestion) stopped "
                                  f"{OUTAGE_SECONDS} s each")
    assert found.states["INGESTED"] >= 1
