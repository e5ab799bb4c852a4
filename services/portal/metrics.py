"""Every metric the portal owns, declared once. Labels are route templates, never raw paths."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "phoenix_portal_requests_total",
    "HTTP requests answered by the portal, by route template and status code.",
    ["route", "status"],
)
REQUEST_DURATION = Histogram(
    "phoenix_portal_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UNMATCHED_ROUTE = "unmatched"
