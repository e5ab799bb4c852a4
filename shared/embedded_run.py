"""One machine, one command: the embedded broker, a local archive server and every service as
child processes, a request published, and its progress followed in the archive database.

A request is finished when the fetcher has handled it (FETCHED) and every AB of it is in a
final state: INGESTED, REJECTED, REVIEW, INCOMPLETE or FAILED.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from shared.archive import ArchiveDatabase, calibrations, catalogue, ledger, qc1
from shared.archive.models import AbRecord, AbState, RequestState
from shared.bus.embedded import EmbeddedBroker
from shared.errors import ConfigError, TransientError
from shared.lifecycle import FINAL as FINAL_STATES
from shared.processes import ChildProcess

SERVICES = ["fetcher", "processor", "qc", "certifier", "ingestor"]
START_TIMEOUT_SECONDS = 120


@dataclass
class Chain:
    """The running parts; `env` is what a client of this chain needs (broker, data, archive)."""

    env: dict[str, str]
    services: dict[str, ChildProcess]

    def dead_services(self) -> list[str]:
        return [name for name, process in self.services.items() if not process.running]


@contextmanager
def embedded_chain(data_dir: Path, archive: str, processor_concurrency: int) -> Iterator[Chain]:
    """Start everything; stop everything (SIGTERM, then SIGKILL) however the block ends."""
    logs = data_dir / "logs"
    children: list[ChildProcess] = []
    with EmbeddedBroker(log_file=_fresh(logs / "broker.log")) as broker:
        try:
            env = {
                "PHOENIX_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "PHOENIX_KAFKA_IDEMPOTENCE": "false",
                "PHOENIX_KAFKA_SESSION_TIMEOUT_MS": "2000",
                "PHOENIX_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
                "PHOENIX_KAFKA_PARTITIONS": "3",
                "PHOENIX_DATA_DIR": str(data_dir),
                "PHOENIX_ARCHIVE_URL": _archive_url(archive, logs, children),
            }
            services = {
                name: ChildProcess(["service", name], {**env, **_service_env(name, processor_concurrency)},
                                   _fresh(logs / f"{name}.log"))
                for name in SERVICES
            }
            children += services.values()
            for process in services.values():
                _started(process)
            yield Chain(env, services)
        finally:
            for child in reversed(children):
                child.stop()


def _archive_url(archive: str, logs: Path, children: list[ChildProcess]) -> str:
    if archive.startswith(("http://", "https://", "eso:")):
        return archive.rstrip("/")
    root = Path(archive).expanduser()
    if not root.is_dir():
        raise ConfigError(f"archive {archive!r} is neither an http(s) URL nor a folder")
    server = ChildProcess(["archive", "serve", "--root", str(root)], {}, _fresh(logs / "archive.log"))
    children.append(server)
    return _started(server, "archive=").split("archive=", 1)[1].strip()


def _service_env(name: str, processor_concurrency: int) -> dict[str, str]:
    return {"PHOENIX_CONCURRENCY": str(processor_concurrency)} if name == "processor" else {}


def _started(process: ChildProcess, marker: str = "consuming") -> str:
    try:
        return process.wait_for_log(marker, START_TIMEOUT_SECONDS)
    except (RuntimeError, TimeoutError) as error:
        raise TransientError(f"{process.log_path.stem} did not start: {error}") from None


def _fresh(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


@dataclass
class Progress:
    """What the ledger says about one request and the ABs of its nights."""

    request_id: uuid.UUID
    request_state: RequestState | None = None
    request_reason: str = ""
    abs: list[AbRecord] = field(default_factory=list)
    prerequisites: dict[str, AbState] = field(default_factory=dict)
    """States of the ABs the request's ABs depend on."""

    @property
    def states(self) -> Counter[str]:
        return Counter(self.state_of(record).value for record in self.abs)

    @property
    def finished(self) -> bool:
        if self.request_state is RequestState.FAILED:
            return True
        return self.request_state in (RequestState.FETCHED, RequestState.DONE) and all(
            self.state_of(record) in FINAL_STATES for record in self.abs
        )

    def state_of(self, record: AbRecord) -> AbState:
        """The AB's state, where an AB that waits only for prerequisites held for review is REVIEW too."""
        return AbState.REVIEW if self.held_for(record) else record.state

    def held_for(self, record: AbRecord) -> list[str]:
        """The prerequisites in REVIEW that a WAITING AB is held by, when nothing else can still move."""
        if record.state is not AbState.WAITING or not record.depends_on:
            return []
        states = [self.prerequisites.get(ab_id) for ab_id in record.depends_on]
        if not all(state in FINAL_STATES for state in states):
            return []
        return [ab_id for ab_id in record.depends_on if self.prerequisites.get(ab_id) is AbState.REVIEW]


async def follow(
    database: ArchiveDatabase,
    request_id: uuid.UUID,
    chain: Chain,
    timeout_seconds: float,
    on_progress: Callable[[Progress], None] = lambda _: None,
) -> Progress:
    """Poll the ledger until the request is finished; fail early if a service dies."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        progress = await read_progress(database, request_id)
        on_progress(progress)
        if progress.finished:
            return progress
        dead = chain.dead_services()
        if dead:
            raise TransientError(f"service(s) {', '.join(dead)} stopped; see {chain.env['PHOENIX_DATA_DIR']}/logs/")
        if time.monotonic() > deadline:
            raise TransientError(f"request {request_id} did not finish within {timeout_seconds:.0f} s "
                                 f"({dict(progress.states)})")
        await asyncio.sleep(0.5)


async def read_progress(database: ArchiveDatabase, request_id: uuid.UUID) -> Progress:
    """The request and every AB of its nights, whichever request is handling them."""
    async with database.session() as session:
        request = await ledger.get_request(session, request_id)
        if request is None:
            return Progress(request_id)
        records = {record.ab_id: record for record in await ledger.abs_of_request(session, request_id)}
        for night in _nights(request.night, request.night_to or request.night):
            for record in await ledger.abs_of_night(session, request.instrument_mode, night):
                records.setdefault(record.ab_id, record)
        prerequisites = await ledger.ab_states(session, {ab for r in records.values() for ab in r.depends_on})
    return Progress(request_id, request.state, request.reason, list(records.values()), prerequisites)


def _nights(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def summary(database: ArchiveDatabase, progress: Progress) -> dict[str, object]:
    """The machine-readable summary: every AB with its final state, scores and archive ids."""
    abs_ = []
    async with database.session() as session:
        for record in sorted(progress.abs, key=lambda r: (r.night, r.raw_type, r.ab_id)):
            scores = {v.parameter if not v.product else f"{v.product}:{v.parameter}": v.score
                      for v in await qc1.qc1_of_ab(session, record.ab_id)}
            product_ids = [p.product_id for p in await catalogue.products_of_ab(session, record.ab_id)]
            product_ids += [c.name for c in await calibrations.calibrations_of_ab(session, record.ab_id)]
            abs_.append({
                "ab_id": record.ab_id, "night": record.night.isoformat(), "raw_type": record.raw_type,
                "recipe": record.recipe, "state": progress.state_of(record).value, "reason": _reason(progress, record),
                "scores": scores, "product_ids": product_ids,
            })
    return {
        "request_id": str(progress.request_id),
        "request_state": progress.request_state.value if progress.request_state else None,
        "request_reason": progress.request_reason,
        "abs": abs_,
    }


def _reason(progress: Progress, record: AbRecord) -> str:
    held = progress.held_for(record)
    return f"waits for {', '.join(held)}, held for review" if held else record.reason
