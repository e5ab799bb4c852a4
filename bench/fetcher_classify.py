"""Classification throughput of ESO's uves.oca on 10,000 UVES header dicts (median of 5 runs).

Run: `.venv/bin/python bench/fetcher_classify.py`

Two figures: with the classifier's result cache (what the fetcher sees: a night repeats a
few keyword combinations) and with it off (every file evaluated against all rules, the
worst case). Each run starts with a fresh classifier, so the cached figure includes filling it.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.fetcher.classification import Classifier  # noqa: E402
from services.fetcher.oca import OcaRules, load_oca  # noqa: E402
from shared.pipeline_install import oca_rules_file  # noqa: E402
from tests.unit.fetcher.uves_headers import UVES_RAW_FRAMES  # noqa: E402

FILES = 10_000
RUNS = 5


def night_of_headers(count: int) -> list[dict[str, object]]:
    """`count` distinct header dicts cycling through the UVES frame types, as a night would."""
    templates = list(UVES_RAW_FRAMES.values())
    headers = []
    for index in range(count):
        header = dict(templates[index % len(templates)])
        header["MJD-OBS"] = 57076.5 + index * 1e-4
        header["ARCFILE"] = f"UVES.2015-02-23T{index // 3600 % 24:02d}:{index // 60 % 60:02d}:{index % 60:02d}.000.fits"
        headers.append(header)
    return headers


def files_per_second(rules: OcaRules, headers: list[dict[str, object]], cache_size: int) -> float:
    classifier = Classifier.from_rules(rules, cache_size)
    start = time.perf_counter()
    for header in headers:
        classifier.classify(header)
    return len(headers) / (time.perf_counter() - start)


def main() -> None:
    path = oca_rules_file()
    start = time.perf_counter()
    rules = load_oca(path)
    Classifier.from_rules(rules)
    load_seconds = time.perf_counter() - start
    headers = night_of_headers(FILES)
    print(f"rules: {path} ({len(rules.classification)} classification rules), parse+compile {load_seconds * 1e3:.1f} ms")
    for label, cache_size in (("with result cache", 4096), ("without cache (all rules per file)", 0)):
        rates = [files_per_second(rules, headers, cache_size) for _ in range(RUNS)]
        print(f"{label}: {statistics.median(rates):,.0f} files/s (median of {RUNS} runs, {FILES:,} header dicts)")


if __name__ == "__main__":
    main()
