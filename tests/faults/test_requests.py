"""Scenario 8: one date request published 5 times, and two campaigns overlapping in nights."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.faults.conftest import NIGHT, ChainFactory
from tests.support.nights import simulate_blue_night

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(300)]

NEXT_NIGHT = NIGHT + timedelta(days=1)


async def test_repeated_requests_and_overlapping_campaigns_make_no_duplicates(
    chain_factory: ChainFactory, fault_archive: Path
) -> None:
    simulate_blue_night(fault_archive, NEXT_NIGHT, seed=12)
    with chain_factory() as chain:
        chain.start_all()
        for _ in range(5):
            await chain.publish(NIGHT)
        await chain.publish(NIGHT, night_to=NEXT_NIGHT, campaign_id="overlap-a")
        await chain.publish(NEXT_NIGHT, campaign_id="overlap-b")
        await chain.wait_settled(240)
        found = await chain.check("8 repeated requests + overlapping campaigns")
    assert found.requests == 7
    assert found.current_products == 2, "one spectrum per night, however often requested"
