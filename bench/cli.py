"""Start time of every `phoenix` command, as a person meets it: `phoenix --help`, each command's
`--help`, and the commands that answer at once (`status` and `review list` on a small database,
`abs` on an empty archive folder).

    .venv/bin/python bench/cli.py [--runs 5]

Each run is a fresh child process of the installed `phoenix` script in a scratch folder (with
`PHOENIX_DATA_DIR` set to a database made there first, untimed); the commands are interleaved,
one run of each in turn, so a busy moment of the machine falls on all of them alike. Wall time
(what a person waits) and CPU time of the child (user + system, which moves less with other load)
are recorded; medians are printed and written to bench/results/cli.json with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import save  # noqa: E402
from shared.cli import command_names  # noqa: E402

PHOENIX = str(Path(sys.executable).with_name("phoenix"))
TARGET_SECONDS = 1.0


def commands(archive: Path) -> list[list[str]]:
    """Every command line timed: top-level help, each command's help, then real quick commands."""
    return [["--version"], ["--help"], *([name, "--help"] for name in command_names()),
            ["status"], ["review", "list"], ["abs", "UVES_ECHELLE", "2015-02-23", "--archive", str(archive)]]


def run_once(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen([PHOENIX, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # abs on an empty archive answers 1, by design
        raise SystemExit(f"phoenix {' '.join(args)} failed with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="phoenix-bench-cli-") as folder:
        scratch = Path(folder)
        (scratch / "archive").mkdir()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")},
               "PHOENIX_DATA_DIR": str(scratch / "data")}
        subprocess.run([PHOENIX, "db", "upgrade"], cwd=scratch, env=env, check=True, capture_output=True)
        lines = commands(scratch / "archive")
        load_before = os.getloadavg()
        times: dict[str, list[tuple[float, float]]] = {" ".join(line): [] for line in lines}
        for _ in range(args.runs):
            for line in lines:
                times[" ".join(line)].append(run_once(line, scratch, env))
        load_after = os.getloadavg()
    figures = []
    for line, runs in times.items():
        label = line.replace(str(scratch), "<scratch>")
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        figures.append({"command": f"phoenix {label}", "wall_seconds_median": round(wall, 3),
                        "cpu_seconds_median": round(cpu, 3), "wall_seconds_max": round(max(w for w, _ in runs), 3)})
        print(f"phoenix {label:<40} wall median {wall:5.2f} s  CPU median {cpu:5.2f} s  over {len(runs)} runs")
    print(f"load average {load_before[0]:.1f} → {load_after[0]:.1f} on {os.cpu_count()} cores")
    result = {"runs": args.runs, "target_seconds": TARGET_SECONDS, "load_average_before": load_before,
              "load_average_after": load_after, "cores": os.cpu_count(), "figures": figures,
              "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    save("cli", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
