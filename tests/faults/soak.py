"""Soak: a campaign of many small nights for a bounded time, with random SIGKILLs, then the invariant.

    python -m tests.faults.soak --minutes 10 [--seed 1] [--nights 6]

Not collected by pytest (the file name does not start with test_). Starts its own Apache Kafka
and PostgreSQL, simulates `--nights` blue-arm small nights (different seeds), runs the chain with
2 processor replicas, publishes one request per night (and repeats some), kills a random service
replica every 20–60 s and starts a new one, stops killing 3/4 of the way through the time budget,
waits for the work to settle, then prints the invariant counts and exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from tests.faults.harness import SERVICES, ArchiveServer, fresh_postgres_database, running_chain
from tests.support.apache_kafka import ApacheKafka
from tests.support.nights import simulate_blue_night
from tests.support.postgres import PostgresServer

FIRST_NIGHT = date(2024, 3, 1)


async def soak(minutes: float, seed: int, nights: int, work: Path) -> int:
    rng = random.Random(seed)
    deadline = time.monotonic() + minutes * 60
    archive_root = work / "archive"
    night_list = [FIRST_NIGHT + timedelta(days=i) for i in range(nights)]
    for i, night in enumerate(night_list):
        simulate_blue_night(archive_root, night, seed=100 + seed + i)
    kafka = ApacheKafka(work / "kafka")
    postgres = PostgresServer()
    kafka.start()
    postgres.start()
    archive = ArchiveServer(archive_root, work / "logs")
    kills: list[str] = []
    try:
        url = fresh_postgres_database(postgres._conninfo,  # noqa: SLF001
                                      lambda name: f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/{name}")
        with running_chain(kafka.bootstrap_servers, url, archive.url, work / "chain") as chain:
            chain.start_all({"processor": 2})
            order = night_list + rng.sample(night_list, k=max(1, nights // 3))  # some nights requested twice
            kill_until = time.monotonic() + 0.75 * (deadline - time.monotonic())
            for night in order:
                await chain.publish(night)
            while time.monotonic() < kill_until:
                await asyncio.sleep(rng.uniform(20, 60))
                name = rng.choice(SERVICES)
                if chain.replicas[name]:
                    index = rng.randrange(len(chain.replicas[name]))
                    chain.kill(name, index)
                    kills.append(name)
                    print(f"{time.strftime('%H:%M:%S')} SIGKILL {name}[{index}]", flush=True)
                    chain.start(name, wait=False)
            await chain.wait_settled(max(120.0, deadline - time.monotonic()), allow_dead=False)
            found = await chain.measure(dict(chain.injected))
            print(found.line(f"soak {minutes:g} min, {nights} nights, {len(order)} requests, "
                             f"{len(kills)} kills ({', '.join(kills)})"))
            for violation in found.violations:
                print("VIOLATION", violation)
            return 1 if found.violations else 0
    finally:
        archive.stop()
        kafka.stop()
        postgres.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nights", type=int, default=6)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="phoenix-soak-"))
    print(f"work folder (logs kept): {work}", flush=True)
    return asyncio.run(soak(args.minutes, args.seed, args.nights, work))


if __name__ == "__main__":
    sys.exit(main())
