"""Every metric the certifier owns. Labels are bounded (RAW_TYPE comes from the classification rules)."""

from __future__ import annotations

from prometheus_client import Counter

DECISIONS = Counter(
    "phoenix_certifier_decisions_total", "Certification decisions, by RAW_TYPE, decision and policy.",
    ["raw_type", "decision", "policy"],
)
