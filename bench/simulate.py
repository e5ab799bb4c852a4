"""Time and peak memory of `phoenix simulate` for a 2x2 and a 1x1 demo night.

    .venv/bin/python bench/simulate.py [--runs-2x2 3] [--runs-1x1 1] [--preset demo]

Each run is a fresh `phoenix simulate` child process writing into a temporary folder; its
wall time and peak resident memory (from wait4's rusage) are recorded. The physical-model
cache is filled first (a separate, untimed run), so the figures are for rendering and
writing a night. Medians are printed and written to bench/results/simulate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOENIX = [sys.executable, "-m", "shared.cli"]


def simulate_once(binning: str, preset: str, seed: int, out: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, files written) of one child process."""
    command = [
        *PHOENIX,
        "--log-level",
        "WARNING",
        "simulate",
        "UVES",
        "--night",
        "2024-03-01",
        "--preset",
        preset,
        "--binning",
        binning,
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"simulate failed: {' '.join(command)}")
    files = sum(1 for path in out.iterdir() if path.suffix == ".fits")
    return elapsed, usage.ru_maxrss / 1024.0, files


def bench(binning: str, preset: str, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="phoenix-bench-simulate-") as folder:
        simulate_once(binning, preset, 999, Path(folder) / "warm-up")  # fills the model cache
        results = [simulate_once(binning, preset, seed, Path(folder) / f"run{seed}") for seed in range(runs)]
        size_mb = sum(p.stat().st_size for p in (Path(folder) / "run0").iterdir()) / 1e6
    return {
        "binning": binning,
        "runs": runs,
        "frames": results[0][2],
        "output_mb": round(size_mb, 1),
        "median_seconds": round(statistics.median(r[0] for r in results), 2),
        "median_peak_rss_mb": round(statistics.median(r[1] for r in results), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs-2x2", type=int, default=3)
    parser.add_argument("--runs-1x1", type=int, default=1)
    parser.add_argument("--preset", default="demo")
    args = parser.parse_args()
    figures = [bench("2x2", args.preset, args.runs_2x2), bench("1x1", args.preset, args.runs_1x1)]
    for row in figures:
        print(
            f"{args.preset} night {row['binning']}: {row['frames']} frames, {row['output_mb']} MB, "
            f"median {row['median_seconds']} s, peak RSS {row['median_peak_rss_mb']} MB (runs={row['runs']})"
        )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "simulate.json").write_text(
        json.dumps({"preset": args.preset, "figures": figures}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
