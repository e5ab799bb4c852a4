"""A replica killed with SIGKILL before committing: its message goes to the other replica, once."""

from __future__ import annotations

import pytest

from shared.bus.publish import publish
from tests.support.bus import Broker, env_for, read_topic, request
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]


async def test_killed_replica_work_is_redone_once_by_the_other(broker: Broker, tmp_path) -> None:
    kafka = broker.settings(partitions=2)
    env = env_for(kafka, PHOENIX_TEST_HANDLER_SECONDS="4", PHOENIX_CONCURRENCY="1")
    replicas = [
        ServiceProcess("tests.support.specs:SLOW", env, tmp_path, label=f"replica{n}") for n in (1, 2)
    ]
    try:
        for replica in replicas:
            replica.wait_for_log("assigned", 60)
        event = request()
        await publish(kafka, [event])
        handling = f"HANDLING {event.correlation_id}"
        victim = await _first_to_log(replicas, handling)
        victim.kill()
        survivor = next(r for r in replicas if r is not victim)
        staged = await read_topic(kafka, "data-staged", expected=1, timeout_seconds=90, settle_seconds=3)
        assert handling in survivor.log, "the surviving replica redid the work"
        assert [d["correlation_id"] for d in staged] == [str(event.correlation_id)], "exactly one output"
    finally:
        for replica in replicas:
            replica.stop()


async def _first_to_log(replicas: list[ServiceProcess], text: str) -> ServiceProcess:
    import asyncio

    for _ in range(600):
        for replica in replicas:
            if text in replica.log:
                return replica
        await asyncio.sleep(0.1)
    raise AssertionError(f"no replica logged {text!r}")
