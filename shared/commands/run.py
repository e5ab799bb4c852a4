"""`phoenix run INSTRUMENT_MODE NIGHT [--to NIGHT] [--mode ...] [--json]`: one request, every service.

Starts the embedded broker (unless PHOENIX_KAFKA_BOOTSTRAP_SERVERS names one) and all
services in this process, publishes the request and exits when every AB of it reached a
final state.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from datetime import date

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from shared import __version__
from shared.bus.embedded import EmbeddedBroker
from shared.commands.service import available_services, load_service
from shared.contracts import DateRequested, ProcessingMode
from shared.embedded_run import RequestProgress, run_request, summary_json
from shared.errors import ConfigError
from shared.settings import KafkaSettings, RuntimeSettings, load_settings

SERVICE_ORDER = ["fetcher", "processor", "qc", "certifier", "ingestor"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="process one request with every service in this process")
    parser.add_argument("instrument_mode", help="e.g. UVES_ECHELLE")
    parser.add_argument("night", type=date.fromisoformat, help="observing night YYYY-MM-DD (evening date)")
    parser.add_argument("--to", dest="night_to", type=date.fromisoformat, default=None, help="last night of a range")
    parser.add_argument("--mode", type=ProcessingMode, choices=list(ProcessingMode), default=ProcessingMode.IDP)
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")
    parser.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        request = DateRequested(
            correlation_id=uuid.uuid4(), produced_by=f"phoenix-cli@{__version__}",
            instrument_mode=args.instrument_mode, night=args.night, night_to=args.night_to, mode=args.mode,
        )
    except ValidationError as error:
        raise ConfigError(f"invalid request: {error.errors()[0]['msg']}") from None
    services = [load_service(name) for name in SERVICE_ORDER if name in available_services()]
    runtime = load_settings(RuntimeSettings)
    console = Console(stderr=True)
    if os.environ.get("PHOENIX_KAFKA_BOOTSTRAP_SERVERS"):
        progress = _run(request, services, load_settings(KafkaSettings), runtime, args.timeout, console)
    else:
        with EmbeddedBroker() as broker:
            console.print(f"embedded broker on {broker.bootstrap_servers}")
            kafka = load_settings(KafkaSettings, bootstrap_servers=broker.bootstrap_servers, idempotence=False,
                                  session_timeout_ms=2000, heartbeat_interval_ms=500)
            progress = _run(request, services, kafka, runtime, args.timeout, console)
    print(summary_json(progress)) if args.json else Console().print(_table(progress))
    return 0


def _run(request, services, kafka, runtime, timeout, console: Console) -> RequestProgress:
    with console.status(f"request {request.request_id}: starting services") as status:
        def show(progress: RequestProgress) -> None:
            status.update(f"request {progress.request_id}: {len(progress.staged)} AB(s) staged, "
                          f"{len(progress.final)} final")

        return asyncio.run(run_request(request, services, kafka, runtime, timeout, show))


def _table(progress: RequestProgress) -> Table:
    table = Table(title=f"request {progress.request_id}")
    for column in ("AB", "raw type", "recipe", "state", "products"):
        table.add_column(column)
    for ab in progress.summary()["abs"]:
        table.add_row(ab["ab_id"], ab["raw_type"], ab["recipe"], ab["state"], ", ".join(ab["product_ids"]) or "-")
    return table
