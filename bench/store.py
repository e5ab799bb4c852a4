"""Processors as separate hosts over S3 against the same over a local folder: staging overhead
per AB, and the scaling efficiency of 2 processor hosts.

    .venv/bin/python bench/store.py [--targets 3] [--partitions 4]

Set-up (not timed), once per arm: one small simulated night (2x2, blue 390 + red 580,
`--targets` stars, each observed in both arms) served by `phoenix archive serve`; Apache
Kafka (topics of the arm's own prefix) and PostgreSQL from the tests' fixtures; fetcher, qc,
certifier and ingestor as `phoenix service` processes; an MCALIB request run to the end so the
masters are certified. Arms:
- `local`: every service on one data folder, the file store a folder in it (`file://`);
- `s3`: every service, and each processor, a "host" of its own (data folder and
  PHOENIX_CACHE_DIR of its own), the file store a bucket on s3proxy (`s3://`).

Measured in each arm: the IDP request of the night (every science AB), job store emptied so
every recipe runs, processed by 1 and then by 2 processor hosts (PHOENIX_CONCURRENCY=1 each).
Staging overhead per AB = the processors' time copying files out of and into the store
(`phoenix_store_transfer_seconds`, scraped from each processor) over their recipe time
(`phoenix_recipe_duration_seconds`); scaling efficiency = (ABs/min with 2 hosts) / (2 x ABs/min
with 1). Written to bench/results/store.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from campaign import run_request, wait_for_balanced_group  # noqa: E402

from bench.report import save  # noqa: E402
from shared.contracts import ProcessingMode  # noqa: E402
from shared.resources import archive_database  # noqa: E402
from shared.settings import KafkaSettings  # noqa: E402
from tests.support.apache_kafka import ApacheKafka  # noqa: E402
from tests.support.bus import Broker, env_for  # noqa: E402
from tests.support.fixtures import S3_BUCKET, new_s3proxy  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402
from tests.support.processes import ServiceProcess  # noqa: E402
from tools.processes import ChildProcess  # noqa: E402
from tools.simulator.plan import night_plan  # noqa: E402
from tools.simulator.uves import fill_archive  # noqa: E402

NIGHT = date(2024, 3, 1)
OTHERS = ["fetcher", "qc", "certifier", "ingestor"]
TARGET_OVERHEAD = 0.05
SERVICE_TIMING = {"PHOENIX_KAFKA_SESSION_TIMEOUT_MS": "10000", "PHOENIX_KAFKA_HEARTBEAT_INTERVAL_MS": "3000"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=3, help="stars of the night, each observed in both arms")
    parser.add_argument("--partitions", type=int, default=4, help="partitions per topic (default 4)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        results = asyncio.run(bench(Path(folder), args))
    print(json.dumps(results["summary"], indent=2))
    save("store", results)


async def bench(folder: Path, args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    archive = folder / "archive"
    fill_archive(archive, [night_plan(NIGHT, "small", seed=11, targets=args.targets)])
    logs = folder / "logs"
    results: dict[str, object] = {"targets": args.targets, "partitions": args.partitions, "cores": os.cpu_count(),
                                  "load_average_before": os.getloadavg(), "arms": {}}
    with ApacheKafka(folder / "kafka") as kafka, PostgresServer() as postgres, \
            archive_server(archive, logs) as archive_url:
        s3 = new_s3proxy(folder / "s3")
        with s3:
            for arm in ("local", "s3"):
                database = new_database(postgres, arm)
                kafka_settings = Broker(kafka.bootstrap_servers).settings(
                    prefix=f"{arm}.", partitions=args.partitions)
                store = s3.environment(S3_BUCKET, prefix=arm) if arm == "s3" else {}
                env = env_for(kafka_settings, PHOENIX_DATABASE_URL=database, PHOENIX_ARCHIVE_URL=archive_url,
                              **SERVICE_TIMING, **store)
                jobs = s3.objects_dir / S3_BUCKET / arm / "jobs" if arm == "s3" else folder / "local" / "data" / "store" / "jobs"
                results["arms"][arm] = await run_arm(arm, env, kafka_settings, folder / arm, logs, jobs)
    results["load_average_after"] = os.getloadavg()
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    results["summary"] = summarise(results["arms"])
    return results


async def run_arm(arm: str, env: dict[str, str], kafka: KafkaSettings, root: Path, logs: Path,
                  jobs: Path) -> dict[str, object]:
    """The warm-up, then the IDP request with 1 and with 2 processor hosts."""
    os.environ["PHOENIX_DATABASE_URL"] = env["PHOENIX_DATABASE_URL"]  # the ledger this process follows
    shared_folder = arm == "local"
    runs: dict[str, object] = {}
    with hosts(OTHERS, env, root, logs, shared_folder, f"{arm}-") as others:
        async with archive_database() as database:
            for label, replicas, mode in (("mcalib", 2, ProcessingMode.MCALIB), ("1 host", 1, ProcessingMode.IDP),
                                          ("2 hosts", 2, ProcessingMode.IDP)):
                shutil.rmtree(jobs, ignore_errors=True)
                names = [f"processor{n}" for n in range(replicas)]
                with hosts(names, {**env, "PHOENIX_CONCURRENCY": "1"}, root, logs, shared_folder,
                           f"{arm}-{label.replace(' ', '')}-") as group:
                    wait_for_balanced_group(list(group.values()), kafka.partitions, kafka.topic("data-staged"))
                    run = await run_request(database, kafka, {**others, **group}, [NIGHT], mode)
                    run["store"] = scrape_store_seconds(list(group.values()))
                runs[label] = run
                print(f"{arm} {label}: {run['abs']} ABs in {run['seconds']:.1f} s, store {run['store']}", flush=True)
    return runs


@contextmanager
def hosts(names: list[str], env: dict[str, str], root: Path, logs: Path, shared_folder: bool,
          label: str) -> Iterator[dict[str, ServiceProcess]]:
    """A `phoenix service` per name, each on a host folder of its own (or all on one, `shared_folder`)."""
    started: dict[str, ServiceProcess] = {}
    try:
        for name in names:
            folder = root if shared_folder else root / f"{label}{name}"
            host = {"PHOENIX_DATA_DIR": str(folder / "data"), "PHOENIX_CACHE_DIR": str(folder / "cache")}
            started[name] = ServiceProcess(name.rstrip("0123456789"), {**env, **host}, logs, label=f"{label}{name}")
        for process in started.values():
            process.wait_for_log("assigned", 180)
        yield started
    finally:
        for process in started.values():
            process.stop()


def new_database(server: PostgresServer, name: str) -> str:
    with psycopg.connect(f"host={server.host} port={server.port} user=postgres dbname=postgres",
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def archive_server(root: Path, logs: Path) -> Iterator[str]:
    server = ChildProcess(["archive", "serve", "--root", str(root)], {}, logs / "archive.log")
    try:
        yield server.wait_for_log("archive=", 60).split("archive=", 1)[1].strip()
    finally:
        server.stop()


def scrape_store_seconds(processors: list[ServiceProcess]) -> dict[str, float]:
    """Seconds the processors spent copying files out of (get) and into (put) the store, and in recipes."""
    totals = {"get": 0.0, "put": 0.0, "recipes": 0.0}
    for process in processors:
        port = re.search(r"metrics and health on http://[^:]+:(\d+)/metrics", process.log).group(1)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for operation in ("get", "put"):
            totals[operation] += _sample(text, f'phoenix_store_transfer_seconds_sum{{operation="{operation}"}}')
        totals["recipes"] += sum(float(v) for v in re.findall(r"^phoenix_recipe_duration_seconds_sum\{[^}]*\} (\S+)$",
                                                                  text, re.M))
    return {key: round(value, 3) for key, value in totals.items()}


def _sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def summarise(arms: dict[str, dict[str, dict]]) -> dict[str, object]:
    summary: dict[str, object] = {}
    for arm, runs in arms.items():
        one, two = runs["1 host"], runs["2 hosts"]
        store = one["store"]
        summary[arm] = {
            "science_abs": one["abs"],
            "abs_per_minute_1_host": one["abs_per_minute"],
            "abs_per_minute_2_hosts": two["abs_per_minute"],
            "scaling_efficiency_2_hosts": round(two["abs_per_minute"] / (2 * one["abs_per_minute"]), 3),
            "store_seconds_per_ab": round((store["get"] + store["put"]) / one["abs"], 3),
            "recipe_seconds_per_ab": round(store["recipes"] / one["abs"], 3),
            "staging_overhead": round((store["get"] + store["put"]) / store["recipes"], 4) if store["recipes"] else None,
        }
    summary["s3_over_local_wall_time_1_host"] = round(arms["s3"]["1 host"]["seconds"] / arms["local"]["1 host"]["seconds"], 3)
    summary["staging_overhead_target"] = TARGET_OVERHEAD
    summary["staging_overhead_met"] = (summary["s3"]["staging_overhead"] or 1) <= TARGET_OVERHEAD
    return summary


if __name__ == "__main__":
    main()
