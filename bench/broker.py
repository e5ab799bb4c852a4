"""The one-machine broker (`phoenix broker`, `phoenix run`): start time, resident memory, restart.

    .venv/bin/python bench/broker.py [--runs 3] [--messages 5000]

Each run, in a fresh folder: the first start (storage formatted, JVM launched, until metadata
is served and committed offsets are loaded), `--messages` 1 KB messages produced with an
idempotent producer (acks=all) and read back by a consumer group that commits, the JVM's
resident memory then (VmRSS) and its peak (VmHWM) from /proc/<pid>/status, a clean stop, and a
restart on the same log (until the committed offsets are loaded again); beside the wall times, the
CPU seconds the broker's JVM used until ready (wall time on a loaded machine is mostly waiting
for a core). Medians are printed
and written to bench/results/broker.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402

from bench.report import save  # noqa: E402
from tools.broker.kafka import HEAP, KafkaBroker  # noqa: E402

TOPIC = "bench-broker"


async def load(bootstrap: str, messages: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for batch in range(0, messages, 500):
            await asyncio.gather(*[await producer.send(TOPIC, os.urandom(1024)) for _ in range(batch, batch + 500)])
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id="bench", auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        read = 0
        while read < messages:
            batches = await consumer.getmany(timeout_ms=1000)
            read += sum(len(records) for records in batches.values())
            await consumer.commit()
    finally:
        await consumer.stop()


def memory_mb(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (load-independent, unlike wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(messages: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-broker-") as folder:
        broker = KafkaBroker(Path(folder))
        started = time.perf_counter()
        broker.start()
        first_start = time.perf_counter() - started
        first_start_cpu = cpu_seconds(broker.process.pid)
        asyncio.run(load(broker.bootstrap_servers, messages))
        memory = memory_mb(broker.process.pid)
        started = time.perf_counter()
        broker.stop()
        stop = time.perf_counter() - started
        started = time.perf_counter()
        broker.start()
        restart = time.perf_counter() - started
        restart_cpu = cpu_seconds(broker.process.pid)
        broker.stop()
    return {"first_start_seconds": first_start, "restart_seconds": restart, "stop_seconds": stop,
            "jvm_cpu_seconds_to_ready_first": first_start_cpu, "jvm_cpu_seconds_to_ready_restart": restart_cpu,
            "rss_mb": memory["VmRSS"], "peak_rss_mb": memory["VmHWM"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    results: dict[str, object] = {"runs": args.runs, "messages": args.messages, "heap": HEAP, "cores": os.cpu_count(),
                                  "load_average_before": os.getloadavg()}
    runs = [one_run(args.messages) for _ in range(args.runs)]
    results["load_average_after"] = os.getloadavg()
    results["median"] = {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}
    results["all"] = runs
    for key, value in results["median"].items():
        print(f"{key:22} {value:8.2f}")
    print(f"load average before {results['load_average_before'][0]:.1f}, after {results['load_average_after'][0]:.1f}")
    save("broker", results)


if __name__ == "__main__":
    main()
