"""`phoenix broker [--port P] [--data DIR]`: Apache Kafka, one node, on 127.0.0.1."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "broker", help="run Apache Kafka (one KRaft node) on 127.0.0.1, its log under the data folder",
        description="Messages, topics and committed offsets are kept in DIR/broker/log, so a restart "
        "resumes where the last run stopped. Needs Java 17 and the jars `make setup` fetches.",
    )
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    parser.add_argument("--data", type=Path, default=Path("data"), help="data folder (default ./data)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tools.broker.kafka import KafkaBroker

    broker = KafkaBroker(args.data.resolve() / "broker", args.port)
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        broker.start()
        print(f"bootstrap={broker.bootstrap_servers}", flush=True)
        return broker.wait()
    finally:
        broker.stop()


def _exit_quietly(signum: int, frame: object) -> None:
    # Raising here interrupts wait(); the finally clause then stops the broker cleanly.
    raise SystemExit(0)
