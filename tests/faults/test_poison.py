"""Scenarios 6 and 8, in one run of the chain: poison messages on every topic go to `<topic>.dlq`,
exactly; one date request published 5 times and two campaigns overlapping in nights make no
duplicate; and the nights go on.

Neither fault changes what the other's check reads (the DLQs count only the poison, the catalogue
only products), so one chain started once and two nights reduced once prove both.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.faults.conftest import NIGHT, ChainFactory
from tests.faults.harness import TOPICS
from tests.support.nights import simulate_blue_night

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(300)]

FIVE_MB = 5 * 1024 * 1024
NEXT_NIGHT = NIGHT + timedelta(days=1)


def poison() -> list[bytes]:
    """Invalid JSON, a document of the wrong schema, an unknown schema_version, a 5 MB payload."""
    return [
        b'{"schema_version": 1, "event_id": ',
        json.dumps({"schema_version": 1, "hello": "not an event of this topic"}).encode(),
        json.dumps({"schema_version": 99, "event_id": "0b9d6f7e-8d4f-4a43-9a0f-7d2b1f6a9e21"}).encode(),
        json.dumps({"schema_version": 1, "padding": "x" * FIVE_MB}).encode(),
    ]


async def test_poison_is_dead_lettered_exactly_and_repeated_or_overlapping_requests_make_no_duplicates(
    chain_factory: ChainFactory, fault_archive: Path
) -> None:
    simulate_blue_night(fault_archive, NEXT_NIGHT, seed=12)
    with chain_factory() as chain:
        chain.start_all()
        for topic in TOPICS:
            await chain.inject(topic, poison()[:2])
        for _ in range(5):
            await chain.publish(NIGHT)
        await chain.publish(NIGHT, night_to=NEXT_NIGHT, campaign_id="overlap-a")
        await chain.publish(NEXT_NIGHT, campaign_id="overlap-b")
        for topic in TOPICS:
            await chain.inject(topic, poison()[2:])
        await chain.wait_settled(240)
        found = await chain.check("6 poison + 8 repeated requests + overlapping campaigns", {topic: 4 for topic in TOPICS})
    assert found.states["INGESTED"] >= 1
    assert found.requests == 7
    assert found.current_products == 2, "one spectrum per night, however often requested"
