"""A real chain for fault tests, and the invariant every fault test asserts afterwards.

The chain: Apache Kafka, a PostgreSQL database of its own, the raw-data archive server over a
simulated archive, and the five services as `phoenix service` processes (any number of
replicas each), with topics and consumer groups under a prefix of their own; the processes are
run by the supervisor `phoenix run` uses (tools/run/supervisor.py), and the topology (services,
their input topics, every topic) is read from the ServiceSpecs.

The invariant, read from the ledger, the catalogue and the topics once the work has settled:
- every request was fetched, and every AB of every request is in exactly one final state
  (INGESTED, REJECTED, REVIEW, INCOMPLETE, FAILED), never two different ones in its history;
- every certified AB was ingested, and its products exactly once: one CURRENT row per lineage,
  no two rows of one AB for the same file, and the ids the `ingested` events announce are the
  CURRENT rows of that AB (a redelivered event names the same ids, never new ones);
- nothing is in flight: no AB in an intermediate state, every consumer group has committed
  everything on its input topics (lag 0);
- each `<topic>.dlq` holds exactly the poison messages injected into `<topic>`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import select

from shared.archive import ArchiveDatabase, ledger
from shared.archive.models import AbRecord, AbState, AbTransition, Product, ProductStatus, Request, RequestState
from shared.bus.kafka import DLQ_MAX_MESSAGE_BYTES
from shared.contracts import DateRequested, ProcessingMode
from shared.lifecycle import FINAL as FINAL_STATES
from shared.settings import KafkaSettings
from tests.support.bus import Broker, env_for, send_raw
from tools.processes import ChildProcess
from tools.run.supervisor import Supervisor, input_topics, output_topics, service_specs

SPECS = service_specs()
SERVICES = list(SPECS)
INPUTS = {name: input_topics(spec) for name, spec in SPECS.items()}
TOPICS = list(dict.fromkeys(topic for spec in SPECS.values() for topic in input_topics(spec) + output_topics(spec)))
INSTRUMENT_MODE = "UVES_ECHELLE"

# Every line the invariant checker printed during the session, repeated in the terminal summary.
REPORTS: list[str] = []


def fresh_postgres_database(conninfo_of, url_of, name: str | None = None) -> str:
    """A new database on a running server; `conninfo_of(db)`/`url_of(db)` name its connections."""
    name = name or f"faults_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo_of("postgres"), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url_of(name)


@dataclass
class Invariants:
    """What the checker measured; `violations` is empty when the invariant holds."""

    requests: int = 0
    abs: int = 0
    states: Counter[str] = field(default_factory=Counter)
    certified_abs: int = 0
    ingested_abs: int = 0
    current_products: int = 0
    product_rows: int = 0
    ingested_events: int = 0
    lag: dict[str, int] = field(default_factory=dict)
    dlq: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def line(self, scenario: str) -> str:
        dlq = {topic: count for topic, count in self.dlq.items() if count}
        return (
            f"[{scenario}] requests={self.requests} abs={self.abs} states={dict(sorted(self.states.items()))} "
            f"certified_abs={self.certified_abs} ingested_abs={self.ingested_abs} "
            f"current_products={self.current_products} product_rows={self.product_rows} "
            f"ingested_events={self.ingested_events} lag={sum(self.lag.values())} dlq={dlq} "
            f"violations={len(self.violations)}"
        )


@dataclass(frozen=True)
class NightOutcome:
    """A settled night: the invariant's counts, the request and its ABs as the ledger holds them."""

    found: Invariants
    request: Request
    abs: list[AbRecord]


class Chain:
    """The running chain of one test. Use `running_chain(...)`; services are started by `start`."""

    def __init__(self, kafka: KafkaSettings, database_url: str, archive_url: str, work_dir: Path,
                 extra_env: dict[str, str] | None = None) -> None:
        self.kafka = kafka
        self.database_url = database_url
        self.work_dir = work_dir
        self.log_dir = work_dir / "logs"
        self.prefix = kafka.topic_prefix
        defaults = dict(
            PHOENIX_DATA_DIR=str(work_dir / "data"),
            PHOENIX_ARCHIVE_URL=archive_url,
            PHOENIX_DATABASE_URL=database_url,
            PHOENIX_CONCURRENCY="2",
            # Covers a 20 s outage of a dependency and its restart on a loaded machine:
            # 0.5+1+2+4 s then 5 s per try, 42.5 s of backoff before dead-lettering.
            PHOENIX_RETRY_ATTEMPTS="12",
            PHOENIX_RETRY_BACKOFF_MAX_SECONDS="5",
            PHOENIX_SHUTDOWN_GRACE_SECONDS="20",
            PHOENIX_ARCHIVE_TIMEOUT_SECONDS="5",
            PHOENIX_ARCHIVE_BACKOFF_SECONDS="0.2",
            PHOENIX_ARCHIVE_BACKOFF_MAX_SECONDS="1",
        )
        self.supervisor = Supervisor(self.log_dir, env_for(kafka, **{**defaults, **(extra_env or {})}),
                                     group_prefix=self.prefix)
        self.request_ids: list[uuid.UUID] = []
        self.injected: Counter[str] = Counter()

    # -- processes -----------------------------------------------------------------------

    @property
    def replicas(self) -> dict[str, list[ChildProcess]]:
        return self.supervisor.replicas

    @property
    def env(self) -> dict[str, str]:
        """What a client of this chain (a `phoenix` command) needs: broker, topics, database, store."""
        return self.supervisor.env

    def start(self, name: str, replicas: int = 1, env: dict[str, str] | None = None, wait: bool = True) -> None:
        self.supervisor.start(name, replicas, env, "consuming" if wait else None)

    def start_all(self, replicas: dict[str, int] | None = None) -> None:
        self.supervisor.start_all(replicas)

    def kill(self, name: str, index: int = 0) -> ChildProcess:
        """SIGKILL one replica (its recipes die with it); it is removed from the chain."""
        return self.supervisor.kill(name, index)

    def terminate(self, name: str, index: int = 0) -> int:
        """SIGTERM one replica and wait for it to leave; its exit status."""
        return self.supervisor.terminate(name, index)

    def dead(self) -> list[str]:
        return self.supervisor.dead()

    def stop_all(self) -> dict[str, int]:
        return self.supervisor.stop_all()

    # -- requests and poison -------------------------------------------------------------

    async def publish(self, night: date, mode: str = "COMPLETE", **fields: object) -> uuid.UUID:
        request = DateRequested(correlation_id=uuid.uuid4(), produced_by="tests.faults", instrument_mode=INSTRUMENT_MODE,
                                night=night, mode=ProcessingMode(mode), **fields)
        await send_raw(self.kafka, "date-requested", [request.model_dump_json().encode()],
                       key=f"{INSTRUMENT_MODE}:{night.isoformat()}".encode())
        self.request_ids.append(request.request_id)
        return request.request_id

    async def inject(self, topic: str, values: list[bytes], key: bytes | None = b"poison") -> None:
        await send_raw(self.kafka, topic, values, key=key)
        self.injected[topic] += len(values)

    # -- waiting and checking ------------------------------------------------------------

    async def wait_settled(self, timeout_seconds: float, allow_dead: bool = False) -> None:
        """Until every request is finished in the ledger and every group has committed everything."""
        deadline = time.monotonic() + timeout_seconds
        last = ""
        while time.monotonic() < deadline:
            finished, last = await self._finished()
            if finished and sum((await self.lag()).values()) == 0:
                return
            if not allow_dead and self.dead():
                raise AssertionError(f"service(s) {self.dead()} died; logs in {self.log_dir}")
            await asyncio.sleep(1)
        raise AssertionError(f"not settled within {timeout_seconds:.0f} s: {last}; lag {await self.lag()}; "
                             f"logs in {self.log_dir}")

    async def _finished(self) -> tuple[bool, str]:
        async with self.database() as db, db.session() as session:
            requests = {r.request_id: r for r in (await session.execute(select(Request))).scalars()}
            abs_ = list((await session.execute(select(AbRecord))).scalars())
        pending_requests = [r for r in self.request_ids
                            if r not in requests or requests[r].state is RequestState.RECEIVED]
        states = Counter(record.state.value for record in abs_)
        unfinished = [record for record in abs_ if record.state not in FINAL_STATES]
        return (not pending_requests and not unfinished,
                f"{len(pending_requests)} request(s) not fetched, AB states {dict(states)}")

    def database(self) -> ArchiveDatabase:
        return ArchiveDatabase(self.database_url)

    async def lag(self) -> dict[str, int]:
        """Messages not yet committed, per `group:topic`."""
        consumers = {}
        result: dict[str, int] = {}
        try:
            for name, topics in INPUTS.items():
                consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka.bootstrap_servers, group_id=self.group(name),
                                            enable_auto_commit=False)
                await consumer.start()
                consumers[name] = consumer
                for topic in topics:
                    partitions = await _partitions(consumer, self.kafka.topic(topic))
                    ends = await consumer.end_offsets(partitions) if partitions else {}
                    behind = 0
                    for partition in partitions:
                        committed = await consumer.committed(partition) or 0
                        behind += max(0, ends[partition] - committed)
                    result[f"{name}:{topic}"] = behind
        finally:
            for consumer in consumers.values():
                await consumer.stop()
        return result

    def group(self, name: str) -> str:
        """Consumer groups are `<prefix><service>`: tests sharing one broker never share a group."""
        return self.supervisor.group(name)

    async def dlq_counts(self) -> dict[str, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka.bootstrap_servers, enable_auto_commit=False,
                                    fetch_max_bytes=DLQ_MAX_MESSAGE_BYTES)
        await consumer.start()
        try:
            counts = {}
            for topic in TOPICS:
                partitions = await _partitions(consumer, self.kafka.topic(f"{topic}.dlq"))
                if not partitions:
                    counts[topic] = 0
                    continue
                ends = await consumer.end_offsets(partitions)
                starts = await consumer.beginning_offsets(partitions)
                counts[topic] = sum(ends[p] - starts[p] for p in partitions)
            return counts
        finally:
            await consumer.stop()

    async def read(self, topic: str) -> list[dict]:
        """Every JSON document on a topic (it must have settled)."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka.bootstrap_servers, enable_auto_commit=False,
                                    auto_offset_reset="earliest", fetch_max_bytes=DLQ_MAX_MESSAGE_BYTES,
                                    max_partition_fetch_bytes=DLQ_MAX_MESSAGE_BYTES)
        await consumer.start()
        try:
            partitions = await _partitions(consumer, self.kafka.topic(topic))
            if not partitions:
                return []
            ends = await consumer.end_offsets(partitions)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            documents: list[dict] = []
            deadline = time.monotonic() + 30
            while [p for p in partitions if await consumer.position(p) < ends[p]] and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        try:
                            documents.append(json.loads(record.value))
                        except ValueError:
                            documents.append({"undecodable": True})
            return documents
        finally:
            await consumer.stop()

    async def night_settled(self, night: date, scenario: str, timeout_seconds: float = 240) -> NightOutcome:
        """Every service started, `night` requested once, settled and the invariant checked (`check`);
        what the ledger holds of the request and its ABs."""
        self.start_all()
        request_id = await self.publish(night)
        await self.wait_settled(timeout_seconds)
        found = await self.check(scenario)
        async with self.database() as db, db.session() as session:
            request = await ledger.get_request(session, request_id)
            abs_ = await ledger.abs_of_request(session, request_id)
        assert request is not None, f"request {request_id} is not in the ledger"
        return NightOutcome(found, request, abs_)

    async def check(self, scenario: str, expected_dlq: dict[str, int] | None = None) -> Invariants:
        """Measure the invariant, print and remember the counts, and fail with every violation."""
        found = await self.measure(expected_dlq if expected_dlq is not None else dict(self.injected))
        line = found.line(scenario)
        REPORTS.append(line)
        print(line)
        assert not found.violations, "\n".join([line, *found.violations[:40]])
        return found

    async def measure(self, expected_dlq: dict[str, int]) -> Invariants:
        found = Invariants()
        violations = found.violations
        async with self.database() as db, db.session() as session:
            requests = {r.request_id: r for r in (await session.execute(select(Request))).scalars()}
            abs_ = list((await session.execute(select(AbRecord))).scalars())
            history = list((await session.execute(select(AbTransition))).scalars())
            products = list((await session.execute(select(Product))).scalars())
        found.requests = len(self.request_ids)
        for request_id in self.request_ids:
            request = requests.get(request_id)
            if request is None or request.state not in (RequestState.FETCHED, RequestState.DONE):
                violations.append(f"request {request_id} is {request.state if request else 'unknown'}")
        found.abs = len(abs_)
        found.states = Counter(record.state.value for record in abs_)
        finals: dict[str, set[str]] = defaultdict(set)
        for transition in history:
            if transition.state in FINAL_STATES:
                finals[transition.ab_id].add(transition.state.value)
        for record in abs_:
            if record.state not in FINAL_STATES:
                violations.append(f"AB {record.ab_id} left in flight: {record.state.value} {record.reason}")
            elif finals[record.ab_id] - {AbState.REVIEW.value} != {record.state.value} - {AbState.REVIEW.value}:
                # REVIEW is a hold that a reviewer's decision may follow; any other mix is a violation.
                violations.append(f"AB {record.ab_id} has final states {sorted(finals[record.ab_id])}, "
                                  f"current {record.state.value}")
        if not abs_:
            violations.append("no AB at all in the ledger")
        # Products: one CURRENT per lineage, one row per (AB, lineage, file).
        found.product_rows = len(products)
        current = [p for p in products if p.status is ProductStatus.CURRENT]
        found.current_products = len(current)
        for lineage, count in Counter(p.lineage_key for p in current).items():
            if count > 1:
                violations.append(f"lineage {lineage[:12]} has {count} CURRENT rows")
        for (ab_id, _lineage, sha), count in Counter((p.ab_id, p.lineage_key, p.sha256) for p in products).items():
            if count > 1:
                violations.append(f"AB {ab_id}: {count} product rows for one file (sha256 {sha[:12]})")
        # Certified → ingested, exactly the announced products.
        state_of = {record.ab_id: record.state for record in abs_}
        certified = {d["ab"]["ab_id"] for d in await self.read("certified") if d.get("decision") == "CERTIFIED" and "ab" in d}
        found.certified_abs = len(certified)
        for ab_id in sorted(certified):
            if state_of.get(ab_id) not in (AbState.INGESTED, AbState.REJECTED):
                violations.append(f"certified AB {ab_id} ended {state_of.get(ab_id)}, not ingested")
        ingested_events = [d for d in await self.read("ingested") if "ab" in d]
        found.ingested_events = len(ingested_events)
        announced: dict[str, set[str]] = defaultdict(set)
        for event in ingested_events:
            if event.get("state") == "INGESTED":
                announced[event["ab"]["ab_id"]].update(p for p in event.get("product_ids", []) if p.startswith("PHX."))
        found.ingested_abs = sum(1 for state in state_of.values() if state is AbState.INGESTED)
        current_of: dict[str, set[str]] = defaultdict(set)
        for product in current:
            current_of[product.ab_id].add(product.product_id)
        for ab_id in set(announced) | set(current_of):
            if announced[ab_id] != current_of[ab_id]:
                violations.append(f"AB {ab_id}: ingested events announce {sorted(announced[ab_id])}, "
                                  f"catalogue has CURRENT {sorted(current_of[ab_id])}")
        # Nothing in flight on the bus; the DLQs hold exactly what was injected.
        found.lag = await self.lag()
        for key, behind in found.lag.items():
            if behind:
                violations.append(f"group {key} has {behind} uncommitted message(s)")
        found.dlq = await self.dlq_counts()
        for topic in TOPICS:
            if found.dlq.get(topic, 0) != expected_dlq.get(topic, 0):
                violations.append(f"{topic}.dlq holds {found.dlq.get(topic, 0)}, expected {expected_dlq.get(topic, 0)}")
        return found


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata of topics we do not subscribe to
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]


@contextmanager
def running_chain(bootstrap_servers: str, database_url: str, archive_url: str, work_dir: Path,
                  extra_env: dict[str, str] | None = None) -> Iterator[Chain]:
    """A chain on Apache Kafka with topics and groups of its own; every process is stopped at the end."""
    kafka = Broker(bootstrap_servers).settings()
    chain = Chain(kafka, database_url, archive_url, work_dir, extra_env)
    try:
        yield chain
    finally:
        chain.stop_all()


class ArchiveServer:
    """`phoenix archive serve` over a folder, on a free 127.0.0.1 port."""

    def __init__(self, root: Path, log_dir: Path) -> None:
        self._supervisor = Supervisor(log_dir)
        self.url = self._supervisor.start_archive(root)

    def stop(self) -> None:
        self._supervisor.stop_all()
