"""`phoenix broker [--port P]`: the embedded Kafka-compatible broker on 127.0.0.1."""

from __future__ import annotations

import argparse
import signal

from shared.bus.embedded import EmbeddedBroker


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "broker", help="run the embedded Kafka-compatible broker (in memory) on 127.0.0.1"
    )
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    broker = EmbeddedBroker(args.port).start()
    signal.signal(signal.SIGTERM, _exit_quietly)
    print(f"bootstrap={broker.bootstrap_servers}", flush=True)
    try:
        return broker.wait()
    finally:
        broker.stop()


def _exit_quietly(signum: int, frame: object) -> None:
    # Raising here interrupts wait(); stopping the broker from inside the handler would
    # deadlock on the lock the interrupted wait() holds.
    raise SystemExit(0)
