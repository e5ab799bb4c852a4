"""Every metric the bus runtime owns, declared once. Labels are bounded: no ids, no messages."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

EVENTS_CONSUMED = Counter(
    "phoenix_events_consumed_total", "Messages read from an input topic.", ["service", "topic"]
)
EVENTS_PRODUCED = Counter(
    "phoenix_events_produced_total", "Events published and acknowledged.", ["service", "topic"]
)
EVENTS_FAILED = Counter(
    "phoenix_events_failed_total", "Handler attempts that raised, by error class.", ["service", "topic", "error"]
)
EVENTS_DEAD_LETTERED = Counter(
    "phoenix_events_dead_lettered_total", "Messages sent to a dead-letter topic.", ["service", "topic", "error"]
)
HANDLER_BUGS = Counter(
    "phoenix_handler_bugs_total", "Handler failures of no known kind (bugs): dead-lettered, not retried.",
    ["service", "handler"],
)
EVENTS_SKIPPED = Counter(
    "phoenix_events_skipped_total", "Messages the handler had no work for.", ["service", "topic"]
)
HANDLER_DURATION = Histogram(
    "phoenix_handler_duration_seconds",
    "Wall time of one handler call, retries included.",
    ["service", "handler"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800),
)
IN_FLIGHT = Gauge("phoenix_handler_in_flight", "Messages being handled now.", ["service"])
CONCURRENCY = Gauge("phoenix_handler_concurrency", "Messages a replica may handle at once.", ["service"])
PAUSED = Gauge("phoenix_consumer_paused", "1 while the replica's partitions are paused (pool full).", ["service"])
CONSUMER_LAG = Gauge(
    "phoenix_consumer_lag", "Messages not yet committed, per partition.", ["service", "topic", "partition"]
)
BUILD_INFO = Info("phoenix_build", "phoenix version of the running service.")
