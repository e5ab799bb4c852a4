"""What `phoenix run` does once its arguments are checked (tools/run/cli.py declares them).

Starts Apache Kafka (one node, its log in DATA/broker/), a local archive server when given a
folder, and every service as child processes that die with this one (also on SIGKILL);
restarts a child that dies, up to MAX_RESTARTS times; publishes the request; shows ABs per
state until every AB of the request is final; prints a summary. The broker's log, the archive
database (SQLite unless PHOENIX_DATABASE_URL is set) and the file store live under --data, so
the same command after any stop or kill resumes where the last run stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.live import Live
from rich.table import Table

from shared import __version__, terminal
from shared.archive.models import AbState
from shared.bus.publish import publish
from shared.contracts import DateRequested
from shared.errors import ConfigError, TransientError
from shared.instruments import known_modes
from shared.lifecycle import FINAL as FINAL_STATES
from shared.rawarchive.listing import open_listing
from shared.rawarchive.settings import ArchiveClientSettings
from shared.resources import archive_database
from shared.settings import KafkaSettings, load_settings
from tools.broker.kafka import KafkaBroker
from tools.run.progress import Progress, follow, summary
from tools.run.supervisor import ChildFailed, Supervisor

MAX_RESTARTS = 3
PROGRESS_LINE_SECONDS = 5.0
# Short enough that the children of a killed run are gone within seconds; work cut short is
# handed back uncommitted and redone by the next run.
CHILD_ENV = {
    "PHOENIX_SHUTDOWN_GRACE_SECONDS": "5",
    "PHOENIX_KAFKA_PARTITIONS": "3",
    "PHOENIX_KAFKA_SESSION_TIMEOUT_MS": "6000",
    "PHOENIX_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
}


def run(args: argparse.Namespace) -> int:
    request = _request(args)
    data_dir = args.data.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PHOENIX_DATA_DIR"] = str(data_dir)
    console = Console(stderr=True)
    asyncio.run(_check_archive(args.archive, request))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with one_machine_chain(data_dir, args.archive, args.processors, _reporter(console)) as chain:
            console.print(f"request {request.request_id}: logs in {data_dir / 'logs'}")
            kafka = load_settings(KafkaSettings, bootstrap_servers=chain.env["PHOENIX_KAFKA_BOOTSTRAP_SERVERS"])
            result = asyncio.run(_process(request, kafka, chain, args.timeout, console))
    except KeyboardInterrupt:
        console.print("stopped; run the same command again to resume")
        return 130
    except (ChildFailed, TransientError) as error:
        console.print(f"phoenix run stopped: {error}; run the same command again to resume")
        return 1
    return _report(result, args.json, console)


@contextmanager
def one_machine_chain(data_dir: Path, archive: str, processor_concurrency: int,
                      report: Callable[[str], None]) -> Iterator[Supervisor]:
    """Broker, archive server and every service, supervised; all stopped however the block ends."""
    logs = data_dir / "logs"
    for old in logs.glob("*.log"):
        old.unlink()
    chain = Supervisor(logs, max_restarts=MAX_RESTARTS, report=report)
    try:
        bootstrap = chain.start_broker(KafkaBroker(data_dir / "broker", output=logs / "broker.log"))
        chain.env = {"PHOENIX_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PHOENIX_DATA_DIR": str(data_dir), **CHILD_ENV}
        chain.env["PHOENIX_ARCHIVE_URL"] = _archive_url(chain, archive)
        chain.start_all(env=lambda name: _service_env(name, processor_concurrency), wait="consuming")
        yield chain
    finally:
        chain.stop_all()


def _archive_url(chain: Supervisor, archive: str) -> str:
    if archive.startswith(("http://", "https://", "eso:")):
        return archive.rstrip("/")
    root = Path(archive).expanduser()
    if not root.is_dir():
        raise ConfigError(f"archive {archive!r} is neither an http(s) URL nor a folder")
    return chain.start_archive(root)


def _service_env(name: str, processor_concurrency: int) -> dict[str, str]:
    return {"PHOENIX_CONCURRENCY": str(processor_concurrency)} if name == "processor" else {}


def _request(args: argparse.Namespace) -> DateRequested:
    if args.instrument_mode not in known_modes():
        raise ConfigError(f"unknown instrument mode {args.instrument_mode!r}; known: {', '.join(known_modes())}")
    try:
        return DateRequested(
            correlation_id=uuid.uuid4(), produced_by=f"phoenix-run@{__version__}",
            instrument_mode=args.instrument_mode, night=args.night, night_to=args.night_to, mode=args.mode,
        )
    except ValidationError as error:
        raise ConfigError(f"invalid request: {error.errors()[0]['msg']}") from None


async def _check_archive(archive: str, request: DateRequested) -> None:
    """Refuse at once an archive that cannot be reached or a night without raw data."""
    instrument = request.instrument_mode.split("_", 1)[0]
    last = request.night_to or request.night
    try:
        async with open_listing(ArchiveClientSettings(url=archive, max_attempts=2, timeout_seconds=10)) as client:
            listing = await client.list_raw(instrument, request.night, last if last != request.night else None)
    except TransientError as error:
        raise ConfigError(f"the archive {archive} cannot be reached: {error}") from None
    if not listing:
        nights = request.night.isoformat() + (f" to {last.isoformat()}" if last != request.night else "")
        raise ConfigError(f"the archive {archive} has no {instrument} raw data for {nights}")


async def _process(request: DateRequested, kafka: KafkaSettings, chain: Supervisor, timeout: float,
                   console: Console) -> dict:
    async with archive_database() as database:
        await publish(kafka, [request])
        if console.is_terminal:
            with Live(_table(Progress(request.request_id)), console=console, refresh_per_second=2) as live:
                progress = await follow(database, request.request_id, chain.supervise, timeout,
                                        lambda p: live.update(_table(p)))
        else:
            progress = await follow(database, request.request_id, chain.supervise, timeout,
                                    ProgressLines(_reporter(console)))
        return await summary(database, progress)


def _headline(progress: Progress) -> str:
    final = sum(count for state, count in progress.states.items() if AbState(state) in FINAL_STATES)
    return (f"request {progress.request_id}: {final}/{len(progress.abs)} AB(s) final"
            f" · request {progress.request_state.value if progress.request_state else 'queued'}")


def _table(progress: Progress) -> Table:
    table = Table(title=_headline(progress))
    table.add_column("state")
    table.add_column("ABs", justify="right")
    for state, count in sorted(progress.states.items()):
        table.add_row(state, str(count))
    return table


class ProgressLines:
    """Off a terminal (a log, a pipe, CI), one plain line every `every_seconds` and at the end, so
    a reader sees the run move instead of a minute of silence."""

    def __init__(self, write: Callable[[str], None], every_seconds: float = PROGRESS_LINE_SECONDS) -> None:
        self.write = write
        self.every_seconds = every_seconds
        self.last_written = float("-inf")

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self.last_written < self.every_seconds and not progress.finished:
            return
        self.last_written = now
        states = ", ".join(f"{state} {count}" for state, count in sorted(progress.states.items()))
        self.write(f"{datetime.now(UTC):%H:%M:%S} {_headline(progress)}" + (f" · {states}" if states else ""))


def _report(result: dict, as_json: bool, console: Console) -> int:
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        table = Table(title=f"request {result['request_id']}")
        for column in ("AB", "raw type", "state", "reason", "products"):
            # Ids are never wrapped (a wrapped id cannot be copied); the reason folds instead.
            table.add_column(column, no_wrap=column != "reason", overflow="fold" if column == "reason" else "ignore")
        for ab in result["abs"]:
            table.add_row(ab["ab_id"], ab["raw_type"], ab["state"], ab["reason"][:80], " ".join(ab["product_ids"]))
        terminal.console().print(table)
    if result["request_state"] == "FAILED":
        console.print(f"request failed: {result['request_reason']}")
        return 1
    return 0


def _reporter(console: Console) -> Callable[[str], None]:
    return lambda message: console.print(message, soft_wrap=True, highlight=False)


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM stops the run like Ctrl-C, so the child processes are stopped too.
    raise KeyboardInterrupt
