"""Every metric the ingestor owns. Labels are bounded: the final states of an AB; the newest
`shared.campaigns.METRIC_CAMPAIGNS` campaigns × four night states."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Counter, Gauge

from shared.archive import ArchiveDatabase
from shared.archive.database import read
from shared.campaigns import campaign_night_counts
from shared.contracts import FinalState
from shared.errors import TransientError

log = logging.getLogger(__name__)
CAMPAIGN_REFRESH_SECONDS = 15.0

ABS_FINAL = Counter(
    "phoenix_abs_final_total",
    "ABs that reached a final state through the ingestor (INCOMPLETE ones are counted by the fetcher).",
    ["state"],
)
CAMPAIGN_NIGHTS = Gauge(
    "phoenix_campaign_nights",
    "Nights of each of the newest campaigns by state (PENDING, PROCESSING, DONE, FAILED), read from the "
    "ledger. Every ingestor replica reports the same values: aggregate replicas with max, not sum.",
    ["campaign", "state"],
)
INGESTED_BYTES = Counter(
    "phoenix_ingested_bytes_total", "Bytes of IDPs catalogued and masters registered for the first time."
)


def initialise() -> None:
    """Every state's series at zero, so the first increment shows in increase()."""
    for state in FinalState:
        ABS_FINAL.labels(state.value)


async def refresh_campaign_nights(db: ArchiveDatabase, interval_seconds: float = CAMPAIGN_REFRESH_SECONDS) -> None:
    """Keep `phoenix_campaign_nights` current from the ledger until cancelled. The ingestor owns
    it because it is the service that finishes requests; campaigns that fall out of the newest
    few lose their series."""
    shown: set[tuple[str, str]] = set()
    while True:
        try:
            async with db.session() as session:
                counts = await read(session, campaign_night_counts)
        except TransientError as error:
            log.warning("campaign progress not refreshed: %s", error)
        else:
            current = {(campaign, state) for campaign, states in counts.items() for state in states}
            for campaign, states in counts.items():
                for state, nights in states.items():
                    CAMPAIGN_NIGHTS.labels(campaign, state).set(nights)
            for stale in shown - current:
                CAMPAIGN_NIGHTS.remove(*stale)
            shown = current
        await asyncio.sleep(interval_seconds)
