"""Every metric the fetcher owns. Labels are bounded: states and raw types, never file names."""

from prometheus_client import Counter

ABS_CREATED = Counter(
    "phoenix_fetcher_abs_total", "ABs the fetcher built or released, by the state it left them in.", ["state"]
)
FILES_NOT_USED = Counter(
    "phoenix_fetcher_files_not_used_total", "Raw files no AB uses (unclassified, no rule, unreadable)."
)
