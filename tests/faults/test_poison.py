"""Scenario 6: poison messages on every topic go to `<topic>.dlq`, exactly, and the night goes on."""

from __future__ import annotations

import json

import pytest

from tests.faults.conftest import NIGHT, ChainFactory
from tests.faults.harness import TOPICS

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(300)]

FIVE_MB = 5 * 1024 * 1024


def poison() -> list[bytes]:
    """Invalid JSON, a document of the wrong schema, an unknown schema_version, a 5 MB payload."""
    return [
        b'{"schema_version": 1, "event_id": ',
        json.dumps({"schema_version": 1, "hello": "not an event of this topic"}).encode(),
        json.dumps({"schema_version": 99, "event_id": "0b9d6f7e-8d4f-4a43-9a0f-7d2b1f6a9e21"}).encode(),
        json.dumps({"schema_version": 1, "padding": "x" * FIVE_MB}).encode(),
    ]


async def test_poison_on_every_topic_is_dead_lettered_exactly(chain_factory: ChainFactory) -> None:
    with chain_factory() as chain:
        chain.start_all()
        for topic in TOPICS:
            await chain.inject(topic, poison()[:2])
        await chain.publish(NIGHT)
        for topic in TOPICS:
            await chain.inject(topic, poison()[2:])
        await chain.wait_settled(240)
        found = await chain.check("6 poison", {topic: 4 for topic in TOPICS})
    assert found.states["INGESTED"] >= 1
