"""Throughput and per-hop latency of the five-hop no-op chain on Apache Kafka, in one run.

    .venv/bin/python bench/bus.py [--events 300] [--runs 3]

Each run starts the five no-op hops of `bench/noop_chain.py` as `phoenix service
bench.noop_chain:NAME` processes on fresh topics (the real services need an archive and do
real work), publishes a burst of date requests, and waits for every one to reach `ingested`. Throughput is events
through the whole chain per second; a hop's latency is produced_at(output) − produced_at(input),
read back from the topics. Medians over the runs are printed and written to
bench/results/bus.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.noop_chain import SPECS  # noqa: E402
from bench.report import save  # noqa: E402
from shared.bus.publish import publish  # noqa: E402
from shared.contracts import TOPICS  # noqa: E402
from tests.support.bus import Broker, env_for, read_topic, request, started_broker  # noqa: E402
from tests.support.processes import REPO_ROOT  # noqa: E402
from tools.processes import ChildProcess  # noqa: E402

HOPS = list(zip(list(TOPICS)[:-1], list(TOPICS)[1:], strict=True))


async def one_run(broker: Broker, events: int, log_dir: Path) -> dict[str, object]:
    kafka = broker.settings(partitions=3)
    env = env_for(kafka, PHOENIX_CONCURRENCY="16")
    # A consumer group per run (the topic prefix is per run): a group reused from the run before
    # delays the first hop of the next run by seconds.
    services = [
        ChildProcess(["service", f"bench.noop_chain:{spec}", "--group", f"{kafka.topic_prefix}{name}"],
                     {"PYTHONPATH": REPO_ROOT, **env}, log_dir / f"{kafka.topic_prefix}{name}.log")
        for name, spec in SPECS.items()
    ]
    try:
        for service in services:
            service.wait_for_log("assigned", 120)
        requests = [request(night="2015-02-23") for _ in range(events)]
        started_at = time.perf_counter()
        await publish(kafka, requests)
        await read_topic(kafka, "ingested", expected=events, timeout_seconds=600)
        elapsed = time.perf_counter() - started_at
        topics = {topic: await read_topic(kafka, topic, expected=events, timeout_seconds=60) for topic in TOPICS}
    finally:
        for service in services:
            service.stop()
    return {"events_per_second": events / elapsed, "hop_latency_ms": hop_latencies(topics)}


def hop_latencies(topics: dict[str, list[dict]]) -> dict[str, float]:
    medians = {}
    for source, target in HOPS:
        produced = {d["event_id"]: _time(d) for d in topics[source]}
        delays = [(_time(d) - produced[d["causation_id"]]) * 1000 for d in topics[target] if d["causation_id"] in produced]
        medians[f"{source} -> {target}"] = statistics.median(delays)
    return medians


def _time(document: dict) -> float:
    return datetime.fromisoformat(document["produced_at"]).timestamp()


def summarise(runs: list[dict[str, object]]) -> dict[str, object]:
    hops = runs[0]["hop_latency_ms"]
    return {
        "events_per_second_median": statistics.median(r["events_per_second"] for r in runs),
        "hop_latency_ms_median": {hop: statistics.median(r["hop_latency_ms"][hop] for r in runs) for hop in hops},
        "runs": runs,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, object] = {
        "events": args.events, "runs": args.runs, "chain": "bench.noop_chain", "cores": os.cpu_count(),
        "load_average_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as logs:
        with started_broker() as broker:
            runs = [await one_run(broker, args.events, Path(logs)) for _ in range(args.runs)]
        results["apache"] = summarise(runs)
    results["load_average_after"] = os.getloadavg()
    print_table(results, ["apache"])
    save("bus", results)


def print_table(results: dict[str, object], kinds: list[str]) -> None:
    print(f"five-hop no-op chain, {results['events']} events per run, medians of {results['runs']} runs")
    print(f"{'':34}" + "".join(f"{kind:>12}" for kind in kinds))
    print(f"{'events/s through the chain':34}" + "".join(f"{results[k]['events_per_second_median']:12.1f}" for k in kinds))
    for source, target in HOPS:
        hop = f"{source} -> {target}"
        print(f"{hop + ' [ms]':34}" + "".join(f"{results[k]['hop_latency_ms_median'][hop]:12.1f}" for k in kinds))


if __name__ == "__main__":
    asyncio.run(main())
