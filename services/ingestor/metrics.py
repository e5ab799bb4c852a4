"""Every metric the ingestor owns. Labels are bounded: the final states of an AB."""

from __future__ import annotations

from prometheus_client import Counter

from shared.contracts import FinalState

ABS_FINAL = Counter(
    "phoenix_abs_final_total",
    "ABs that reached a final state through the ingestor (INCOMPLETE ones are counted by the fetcher).",
    ["state"],
)
INGESTED_BYTES = Counter(
    "phoenix_ingested_bytes_total", "Bytes of IDPs catalogued and masters registered for the first time."
)


def initialise() -> None:
    """Every state's series at zero, so the first increment shows in increase()."""
    for state in FinalState:
        ABS_FINAL.labels(state.value)
