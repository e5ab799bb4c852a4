"""Scenarios 1, 2, 9: replicas killed (SIGKILL) or restarted (SIGTERM) while work is in flight.

The SIGKILLs of scenarios 1 and 2 share one run of the chain: each kill loses only the killed
replica's uncommitted work, which the invariant checked once the night has settled covers for all."""

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


async def _processor_killed_mid_recipe(chain: Chain, times: int = 3, timeout_seconds: float = 150) -> int:
    """SIGKILL a processor replica as soon as a recipe starts in it and start a fresh one, up to `times`
    times; how many kills."""
    kills = 0
    seen = {id(p): 0 for p in chain.replicas["processor"]}
    deadline = time.monotonic() + timeout_seconds
    while kills < times and time.monotonic() < deadline:
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
    return kills


async def _wait_in_flight(chain: Chain, name: str, timeout_seconds: float = 120) -> bool:
    """Until the service's group has an uncommitted message on one of its inputs."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        lag = await chain.lag()
        if any(lag[f"{name}:{topic}"] for topic in INPUTS[name]):
            return True
        await asyncio.sleep(0.1)
    return False


async def _each_killed_in_flight(chain: Chain, names: list[str]) -> list[str]:
    """SIGKILL each service in turn once it has a message in flight, and start a fresh one; which were."""
    killed = []
    for name in names:
        if await _wait_in_flight(chain, name):
            chain.kill(name)
            killed.append(name)
            chain.start(name, wait=False)
    return killed


async def test_every_service_killed_with_work_in_flight(chain_factory: ChainFactory) -> None:
    """Scenarios 1 and 2 in one run: one of two processor replicas killed mid-recipe, three times, while
    the fetcher, qc, certifier and ingestor are each killed with a message in flight."""
    with chain_factory() as chain:
        chain.start_all({"processor": 2})
        await chain.publish(NIGHT)
        kills, killed = await asyncio.gather(_processor_killed_mid_recipe(chain),
                                             _each_killed_in_flight(chain, ["fetcher", "qc", "certifier", "ingestor"]))
        await chain.wait_settled(240)
        found = await chain.check(f"1 processor SIGKILL x{kills}, 2 SIGKILL of {'/'.join(killed)} in flight")
    assert kills >= 2, "the processor was killed mid-recipe at least twice"
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
