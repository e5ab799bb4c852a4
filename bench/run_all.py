"""`make bench`: every bench script in turn, its figures in bench/results/*.json, then the README table.

    .venv/bin/python bench/run_all.py [--only campaign,processor] [--skip simulate]

Scripts that write their own JSON (bus, broker, store, processor, simulate, campaign, cli) do so; for the others
(fetcher, fetcher_classify, portal) their printed lines are kept in bench/results/<name>.json
with the figures read from them. Each script's wall time and the machine's load average before
and after are recorded beside it in bench/results/run_all.json, since other work on the
machine moves the absolute figures (ratios are measured within one run). Ends with
`bench/report.py`, which rewrites the table in bench/README.md from the JSON files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# name, arguments, writes its own bench/results/<name>.json; in the order they run.
STEPS: list[tuple[str, list[str], bool]] = [
    ("campaign", [], True),
    ("processor", ["--runs", "3"], True),
    ("bus", ["--events", "300", "--runs", "3"], True),
    ("broker", ["--runs", "3"], True),
    ("store", ["--targets", "3"], True),
    ("fetcher_classify", [], False),
    ("fetcher", ["--nights", "30", "--repeat", "5"], False),
    ("portal", ["--products", "100000", "--searches", "200"], False),
    ("simulate", ["--runs-2x2", "2", "--runs-1x1", "1"], True),
    ("cli", ["--runs", "5"], True),
]

# Figures read from the printed lines of the scripts that write no JSON: name → regex with named groups.
PATTERNS: dict[str, list[str]] = {
    "fetcher_classify": [r"^(?P<label>with result cache|without cache[^:]*): (?P<files_per_second>[\d,]+) files/s"],
    "fetcher": [
        r"^classification (?P<label>.+?)\s+(?P<files>\d+) files\s+(?P<files_per_second>[\d,]+) files/s",
        r"^association\s+(?P<label>.+?)\s+(?P<files>\d+) files\s+(?P<abs>\d+) ABs\s+(?P<masters>\d+) masters"
        r"\s+(?P<ms>[\d.]+) ms",
    ],
    "portal": [
        r"^(?P<label>SQLite|PostgreSQL)\s+(?P<rows>\d+) rows .*median\s+(?P<median_ms>[\d.]+) ms"
        r"\s+p95\s+(?P<p95_ms>[\d.]+) ms",
        r"^(?P<label>(?:SQLite|PostgreSQL) \S+) page: median\s+(?P<median_ms>[\d.]+) ms\s+p95\s+(?P<p95_ms>[\d.]+) ms",
    ],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated step names")
    parser.add_argument("--skip", default="", help="comma-separated step names")
    args = parser.parse_args()
    only, skip = set(filter(None, args.only.split(","))), set(filter(None, args.skip.split(",")))
    RESULTS.mkdir(exist_ok=True)
    summary_path = RESULTS / "run_all.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    summary["cores"] = os.cpu_count()
    failed = []
    for name, arguments, writes_json in STEPS:
        if (only and name not in only) or name in skip:
            continue
        print(f"\n=== bench/{name}.py {' '.join(arguments)}", flush=True)
        load_before = os.getloadavg()
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), *arguments], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seconds = time.perf_counter() - started
        print(completed.stdout[-6000:], end="", flush=True)
        record = {"arguments": arguments, "seconds": round(seconds, 1), "exit_code": completed.returncode,
                  "load_average_before": load_before, "load_average_after": os.getloadavg(),
                  "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        if completed.returncode != 0:
            # The figures in results/<name>.json are still those of the last successful run.
            summary.setdefault(name, {})["last_failure"] = {**record, "output_tail": completed.stdout[-2000:]}
            failed.append(name)
            continue
        summary[name] = record
        if not writes_json:
            lines = [line for line in completed.stdout.splitlines() if line.strip()]
            (RESULTS / f"{name}.json").write_text(json.dumps(
                {"arguments": arguments, "figures": parse(name, lines), "output": lines}, indent=2) + "\n")
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    subprocess.run([sys.executable, str(ROOT / "bench" / "report.py")], cwd=ROOT, check=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def parse(name: str, lines: list[str]) -> list[dict[str, str | float]]:
    figures = []
    for line in lines:
        for pattern in PATTERNS.get(name, []):
            match = re.search(pattern, line)
            if match:
                figures.append({k: _number(v) for k, v in match.groupdict().items()})
    return figures


def _number(text: str) -> str | float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
