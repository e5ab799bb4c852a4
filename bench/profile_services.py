"""Each service's own CPU per AB, profiled with cProfile: masters, science, unchanged reprocessing.

    .venv/bin/python bench/profile_services.py [--targets 1] [--top 12] [--out bench/results/profile_services.json]

One small simulated night (2x2, blue 390 + red 580) goes through the five services' handlers
in this process, event by event, as the runtime would hand them over (no broker: this
measures the handlers, not Kafka): an MCALIB request (master ABs), then an IDP request
(science ABs, recipes run), then the same IDP request again (reprocessing an unchanged night:
every service should find its work done). Each handler call is timed in CPU seconds of this
process (`time.process_time`, all threads) and profiled by a cProfile profiler of its
service whose clock is also CPU time; `asyncio.to_thread` runs its function inline here, so
the profile sees the work a service hands to threads. The recipes' CPU is that of the
esorex children this process waited for. Prints, per phase and service, CPU seconds per AB
and the profile's top functions by own time, and writes them to the JSON file.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import AsyncExitStack
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.bus.runtime import ServiceSpec  # noqa: E402
from shared.contracts import DateRequested, Event, ProcessingMode  # noqa: E402
from shared.errors import NoWork  # noqa: E402
from shared.settings import RuntimeSettings, load_settings  # noqa: E402
from tools.simulator.plan import night_plan  # noqa: E402
from tools.simulator.uves import fill_archive  # noqa: E402

NIGHT = date(2024, 3, 1)
MODE = "UVES_ECHELLE"
SERVICES = ("fetcher", "processor", "qc", "certifier", "ingestor")
PHASES = (("masters", ProcessingMode.MCALIB), ("science", ProcessingMode.IDP), ("reprocessing", ProcessingMode.IDP))


async def _inline(function, /, *args, **kwargs):  # noqa: ANN001, ANN202 - asyncio.to_thread's signature
    return function(*args, **kwargs)


class Phase:
    """CPU seconds and a CPU-time cProfile per service over one request."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.profiles = {service: cProfile.Profile(time.process_time) for service in SERVICES}
        self.abs: set[str] = set()
        self.recipe_cpu = 0.0

    async def handle(self, service: str, handler, event: Event, ctx) -> list[Event]:  # noqa: ANN001
        profile = self.profiles[service]
        started = time.process_time()
        profile.enable()
        try:
            outputs = await handler(event, ctx) or []
        except NoWork:
            outputs = []
        finally:
            profile.disable()
            self.cpu[service] += time.process_time() - started
            self.calls[service] += 1
        ab = getattr(event, "ab", None)
        if ab is not None:
            self.abs.add(ab.ab_id)
        return list(outputs)

    def top(self, service: str, count: int) -> list[dict[str, object]]:
        stats = pstats.Stats(self.profiles[service], stream=io.StringIO())
        rows = []
        for (file, line, function), (_, calls, own, cumulative, _) in stats.stats.items():
            rows.append({"function": f"{_short(file)}:{line}({function})", "calls": calls,
                         "own_seconds": round(own, 4), "cumulative_seconds": round(cumulative, 4)})
        return sorted(rows, key=lambda row: -row["own_seconds"])[:count]

    def cumulative(self, service: str, count: int) -> list[dict[str, object]]:
        """Phoenix's own functions by cumulative CPU: where the time goes, in the project's terms."""
        stats = pstats.Stats(self.profiles[service], stream=io.StringIO())
        rows = [{"function": f"{_short(file)}:{line}({function})", "calls": calls, "cumulative_seconds": round(cum, 4)}
                for (file, line, function), (_, calls, _, cum, _) in stats.stats.items()
                if file.startswith(str(ROOT)) and "/.venv/" not in file]
        return sorted(rows, key=lambda row: -row["cumulative_seconds"])[:count]


def _short(file: str) -> str:
    return file.removeprefix(str(ROOT) + "/").split("site-packages/")[-1]


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


async def run(folder: Path, targets: int, top: int) -> dict[str, object]:
    archive = folder / "archive"
    fill_archive(archive, [night_plan(NIGHT, "small", seed=11, targets=targets)])
    os.environ.update(PHOENIX_DATA_DIR=str(folder / "data"), PHOENIX_ARCHIVE_URL=str(archive),
                      PHOENIX_CONCURRENCY="1")
    from importlib.metadata import entry_points

    specs: dict[str, ServiceSpec] = {e.name: e.load() for e in entry_points(group="phoenix.services") if e.name in SERVICES}
    asyncio.to_thread = _inline  # the profile sees what a handler hands to a thread
    results: dict[str, object] = {"night": str(NIGHT), "targets": targets, "load_average_before": os.getloadavg(),
                                  "phases": {}}
    async with AsyncExitStack() as stack:
        contexts = {}
        for name in SERVICES:
            spec = specs[name]
            contexts[name] = await stack.enter_async_context(spec.open_context(spec.start(load_settings(RuntimeSettings))))
        routes = [(name, model, handler) for name in SERVICES for model, handler in specs[name].handlers.items()]
        for phase_name, mode in PHASES:
            phase = Phase(phase_name)
            children_before = _children_cpu()
            queue: list[Event] = [DateRequested(correlation_id=uuid.uuid4(), produced_by="bench-profile",
                                                instrument_mode=MODE, night=NIGHT, mode=mode, reprocess=True)]
            while queue:
                event = queue.pop(0)
                for name, model, handler in routes:
                    if isinstance(event, model):
                        queue += await phase.handle(name, handler, event, contexts[name])
            phase.recipe_cpu = _children_cpu() - children_before
            own = sum(phase.cpu.values())  # process_time counts this process only, not its esorex children
            results["phases"][phase_name] = {
                "abs": len(phase.abs),
                "recipe_cpu_seconds": round(phase.recipe_cpu, 3),
                "phoenix_cpu_seconds": round(own, 3),
                "phoenix_cpu_share": round(own / phase.recipe_cpu, 4) if phase.recipe_cpu else None,
                "cpu_ms_per_ab": {name: round(1000 * phase.cpu[name] / max(len(phase.abs), 1), 1) for name in SERVICES},
                "calls": dict(phase.calls),
                "top_own": {name: phase.top(name, top) for name in SERVICES},
                "top_cumulative": {name: phase.cumulative(name, top) for name in SERVICES},
            }
    results["load_average_after"] = os.getloadavg()
    return results


def print_results(results: dict[str, object], top: int) -> None:
    print(f"load average {results['load_average_before'][0]:.2f} → {results['load_average_after'][0]:.2f}")
    for name, phase in results["phases"].items():
        share = phase["phoenix_cpu_share"]
        print(f"\n== {name}: {phase['abs']} ABs, recipes {phase['recipe_cpu_seconds']} CPU s, phoenix "
              f"{phase['phoenix_cpu_seconds']} CPU s" + (f" (share {share})" if share is not None else ""))
        print("   CPU ms per AB: " + ", ".join(f"{s} {v}" for s, v in phase["cpu_ms_per_ab"].items()))
        for service in SERVICES:
            print(f"   -- {service}, phoenix functions by cumulative CPU s:")
            for row in phase["top_cumulative"][service][:top]:
                print(f"      {row['cumulative_seconds']:8.3f}  {row['calls']:6d}  {row['function']}")
            print(f"   -- {service}, by own CPU s:")
            for row in phase["top_own"][service][:top]:
                print(f"      {row['own_seconds']:8.3f}  {row['calls']:6d}  {row['function']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=1, help="stars in the night (default 1)")
    parser.add_argument("--top", type=int, default=12, help="functions listed per service (default 12)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "profile_services.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder:
        results = asyncio.run(run(Path(folder), args.targets, args.top))
    print_results(results, args.top)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
