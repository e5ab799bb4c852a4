"""Every metric the processor owns, declared once. Labels are bounded: recipe names and outcomes."""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import Counter, Histogram


class RunOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    JUNK = "junk"
    REUSED = "reused"


RECIPE_DURATION = Histogram(
    "phoenix_recipe_duration_seconds",
    "Wall time of one esorex run (reused jobs are not counted).",
    ["recipe"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
RECIPE_RUNS = Counter(
    "phoenix_recipe_runs_total", "Recipe jobs by outcome (reused: served from the job store).", ["recipe", "outcome"]
)
