"""Every metric the QC service owns. Labels are bounded: RAW_TYPE comes from the classification rules."""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import Counter

SCORES = Counter(
    "phoenix_qc_scores_total", "QC parameters scored, by RAW_TYPE and score (0, 1, none).", ["raw_type", "score"]
)
ABS = Counter("phoenix_qc_abs_total", "ABs through QC, by processing status.", ["raw_type", "status"])


def count(raw_type: str, status: str, scores: list[int | None]) -> None:
    ABS.labels(raw_type, status).inc()
    for score, times in Tally(scores).items():
        SCORES.labels(raw_type, "none" if score is None else str(score)).inc(times)
