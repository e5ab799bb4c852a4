"""Scenarios 1, 2, 9: replicas killed (SIGKILL) or restarted (SIGTERM) while work is in flight."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.conftest import NIGHT, ChainFactory
from tests.faults.harness import INPUTS, Chain

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(360)]

RECIPE_STARTED = "recipe "


def recipe_starts(chain: Chain) -> list[tuple[int, int]]:
    """(replica index, number of recipe starts it logged), for the running processor replicas."""
    return [(i, sum(1 for line in p.log.splitlines() if RECIPE_STARTED in line and " started (pid " in line))
            for i, p in enumerate(chain.replicas["processor"])]


async def test_processor_replica_killed_mid_recipe(chain_factory: ChainFactory) -> None:
    kills = 0
    with chain_factory() as chain:
        chain.start_all({"processor": 2})
        await chain.publish(NIGHT)
        seen = {id(p): 0 for p in chain.replicas["processor"]}
        deadline = time.monotonic() + 150
        while kills < 3 and time.monotonic() < deadline:
            for index, process in enumerate(chain.replicas["processor"]):
                count = recipe_starts(chain)[index][1]
                if count > seen.get(id(process), 0):
                    # A recipe has just started in this replica: kill it mid-recipe, start a fresh one.
                    line = [ln for ln in process.log.splitlines() if " started (pid " in ln][-1]
                    chain.kill("processor", index)
                    kills += 1
                    print(f"killed {process.name} during: {line[-160:]}")
                    chain.start("processor", wait=False)
                    seen.update({id(p): recipe_starts(chain)[i][1] for i, p in enumerate(chain.replicas["processor"])})
                    break
            await asyncio.sleep(0.05)
        await chain.wait_settled(240)
        found = await chain.check(f"1 processor SIGKILL x{kills}")
    assert kills >= 2, "the processor was killed mid-recipe at least twice"
    assert found.states["INGESTED"] >= 1


async def _wait_in_flight(chain: Chain, name: str, timeout_seconds: float = 120) -> bool:
    """Until the service's group has an uncommitted message on one of its inputs."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        lag = await chain.lag()
        if any(lag[f"{name}:{topic}"] for topic in INPUTS[name]):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_each_service_killed_with_messages_in_flight(chain_factory: ChainFactory) -> None:
    killed = []
    with chain_factory() as chain:
        chain.start_all()
        await chain.publish(NIGHT)
        for name in ["fetcher", "qc", "certifier", "ingestor"]:
            if await _wait_in_flight(chain, name):
                chain.kill(name)
                killed.append(name)
                chain.start(name, wait=False)
        await chain.wait_settled(240)
        found = await chain.check(f"2 SIGKILL of {'/'.join(killed)} in flight")
    assert killed == ["fetcher", "qc", "certifier", "ingestor"]
    assert found.states["INGESTED"] >= 1


async def test_rolling_restart_of_every_service(chain_factory: ChainFactory) -> None:
    codes = {}
    with chain_factory() as chain:
        chain.start_all()
        await chain.publish(NIGHT)
        await asyncio.sleep(3)
        for name in ["fetcher", "processor", "qc", "certifier", "ingestor"]:
            codes[name] = chain.terminate(name)
            chain.start(name)
            await asyncio.sleep(2)
        await chain.wait_settled(240)
        found = await chain.check("9 rolling restart (SIGTERM) of every service")
    assert codes == dict.fromkeys(codes, 0), "every service stopped cleanly on SIGTERM"
    assert found.states["INGESTED"] >= 1
