"""The service runtime: the one way a phoenix service runs its handler over Kafka.

A handler gets a validated event and returns the events it causes. Everything else lives
here: group membership, manual commits after the outputs are acknowledged, retries with
capped backoff, dead letters, pausing partitions while the replica is full, handing work
back on rebalance and shutdown, metrics and log context.

Start-up order: settings (every class the ServiceSpec declares, validated; a missing or
invalid one stops the service with a one-line error naming the variable), then topics, then
the lifespan (migrations, pools), then the consumer group. The lifespan gets a ServiceStart
with the service's identity (`name@version`), which handlers record as the ledger's `service`.

The fate of a message is decided by the class of the error its handler raised, the same in
every service (`fate_of`):

| the handler raises | fate | committed |
|---|---|---|
| nothing | its outputs are published (acks=all) | after the outputs are acknowledged |
| `NoWork` | skipped, counted in `phoenix_events_skipped_total` | yes |
| `TransientError`, a retriable `KafkaError`, `TimeoutError`, `ConnectionError`, `httpx.TransportError`, SQLAlchemy `OperationalError`/`TimeoutError` | retried with capped backoff (`PHOENIX_RETRY_*`), then dead-lettered | yes |
| `DataError` (bad input: undecodable, schema-invalid, unknown instrument mode, a refused AB transition) | dead-lettered at once with the reason | yes |
| `ConfigError` | the service stops (exit non-zero); never dead-lettered | no: redelivered to the fixed service |
| anything else (a bug) | logged once with its traceback, counted in `phoenix_handler_bugs_total`, dead-lettered with the reason; not retried | yes |

Dead letters go to `<topic>.dlq` with the original bytes, key and headers, the error class,
reason, attempts, service and time. An AB a service cannot process (a recipe that fails, a
file that stays unavailable) is not an error: it is a normal FAILED/INCOMPLETE outcome that
flows on.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx
import sqlalchemy.exc
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from pydantic_settings import BaseSettings

from shared import __version__
from shared.bus import metrics
from shared.bus.codec import PoisonMessage, decode, encode, headers_for
from shared.bus.kafka import ensure_topics, make_consumer, make_producer
from shared.bus.offsets import PartitionOffsets
from shared.contracts import DeadLetter, Event, dead_letter_topic
from shared.errors import ConfigError, DataError, NoWork, TransientError
from shared.logs import event_context
from shared.settings import KafkaSettings, RuntimeSettings, SettingsT, load_settings

log = logging.getLogger(__name__)

STOP_STEP_TIMEOUT_SECONDS = 5.0
BUSY_POLL_MS = 200
IDLE_POLL_MS = 1000
HURRIED_STOP_STEP_TIMEOUT_SECONDS = 1.0

Handler = Callable[[Any, Any], Awaitable[Sequence[Event] | None]]
"""`async def on_<event>(event, ctx) -> [events]`."""

TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    TimeoutError,
    ConnectionError,
    httpx.TransportError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.TimeoutError,
)
"""Failures of something outside the service that may pass: retried. Adapters should raise
TransientError themselves (the archive database and the archive client do); these classes
are recognised too, so an adapter that lets one through still gets a retry, not a bug."""


class Fate(Enum):
    RETRY = "retry"
    DEAD_LETTER = "dead-letter"
    STOP = "stop"
    BUG = "bug"


def fate_of(error: BaseException) -> Fate:
    """What happens to a message whose handler raised `error`, from its class alone."""
    if isinstance(error, ConfigError):
        return Fate.STOP
    if isinstance(error, DataError):
        return Fate.DEAD_LETTER
    if isinstance(error, TRANSIENT) or (isinstance(error, KafkaError) and error.retriable):
        return Fate.RETRY
    return Fate.BUG


@dataclass
class ServiceStart:
    """What the runtime hands a service's lifespan: who the service is, how it runs, and the
    settings it declared, already loaded and validated (so a missing one stops the service
    before any topic, migration or port)."""

    name: str
    runtime: RuntimeSettings
    settings: dict[type[BaseSettings], BaseSettings] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """`name@version`: the producer of its events and the `service` of its ledger rows."""
        return f"{self.name}@{__version__}"

    def settings_of(self, cls: type[SettingsT]) -> SettingsT:
        """The loaded settings of `cls` (loaded now when the service did not declare them)."""
        if cls not in self.settings:
            self.settings[cls] = load_settings(cls)
        return self.settings[cls]  # type: ignore[return-value]


@dataclass(frozen=True)
class ServiceContext:
    """What a handler gets besides the event when the service declares no lifespan of its own."""

    name: str
    identity: str
    runtime: RuntimeSettings


@asynccontextmanager
async def _default_lifespan(start: ServiceStart) -> AsyncIterator[ServiceContext]:
    yield ServiceContext(start.name, start.identity, start.runtime)


@dataclass(frozen=True)
class ServiceSpec:
    """A service: its handlers by input event type, the events it may produce, its resources."""

    name: str
    handlers: Mapping[type[Event], Handler]
    produces: tuple[type[Event], ...]
    lifespan: Callable[[ServiceStart], AbstractAsyncContextManager[Any]] | None = None
    """Builds the handler's context (settings, database, worker pool) for the service's life."""
    settings: tuple[type[BaseSettings], ...] = ()
    """Settings the lifespan reads; loaded and validated before the service touches anything."""
    default_concurrency: Callable[[], int] | None = None
    """The replica's concurrency when PHOENIX_CONCURRENCY is not set (the runtime's default suits I/O)."""
    spread: tuple[type[Event], ...] = ()
    """Outputs of these types are dealt over their topic's partitions in turn instead of by key.

    For long independent jobs (an AB for the processor): a consumer group shares partitions,
    not messages, so hashing one request's few keys can give one replica twice the work of
    another. Dealing starts at a partition derived from the input event, so a redelivered input
    sends each output to the same partition again; the key stays the AB id.
    """

    def start(self, runtime: RuntimeSettings) -> ServiceStart:
        """Load every declared setting; a missing or invalid one raises ConfigError naming it."""
        return ServiceStart(self.name, runtime, {cls: load_settings(cls) for cls in self.settings})

    def open_context(self, start: ServiceStart) -> AbstractAsyncContextManager[Any]:
        return (self.lifespan or _default_lifespan)(start)


class _PublishAborted(Exception):
    """Publishing was given up because the service is stopping; the input stays uncommitted."""


@dataclass(eq=False)
class _Work:
    task: asyncio.Task[None]
    partition: TopicPartition


@dataclass
class ServiceRunner:
    spec: ServiceSpec
    kafka: KafkaSettings
    runtime: RuntimeSettings
    group_id: str | None = None
    """Consumer group; the service name unless a test isolates itself."""

    _offsets: dict[TopicPartition, PartitionOffsets] = field(default_factory=dict, init=False)
    _work: set[_Work] = field(default_factory=set, init=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _slot_freed: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _fatal: BaseException | None = field(default=None, init=False)
    _paused: bool = field(default=False, init=False)
    _lag_updated_at: float = field(default=0.0, init=False)
    _hurried: bool = field(default=False, init=False)
    ready: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.identity = f"{self.spec.name}@{__version__}"
        if self.spec.default_concurrency is not None and "concurrency" not in self.runtime.model_fields_set:
            self.runtime = self.runtime.model_copy(update={"concurrency": self.spec.default_concurrency()})
        self._settings_loaded: ServiceStart | None = None
        self._inputs = {self.kafka.topic(model.topic): (model, h) for model, h in self.spec.handlers.items()}
        self._output_topics = {model: self.kafka.topic(model.topic) for model in self.spec.produces}

    def _initialise_metrics(self) -> None:
        """Create every labelled series at zero, so the first increment is visible to increase()."""
        metrics.BUILD_INFO.info({"version": __version__})
        metrics.CONCURRENCY.labels(self.spec.name).set(self.runtime.concurrency)
        metrics.IN_FLIGHT.labels(self.spec.name).set(0)
        metrics.PAUSED.labels(self.spec.name).set(0)
        for handler in self.spec.handlers.values():
            metrics.HANDLER_BUGS.labels(self.spec.name, handler.__name__)
        for topic in self._inputs:
            metrics.EVENTS_CONSUMED.labels(self.spec.name, topic)
            metrics.EVENTS_SKIPPED.labels(self.spec.name, topic)
        for topic in self._output_topics.values():
            metrics.EVENTS_PRODUCED.labels(self.spec.name, topic)

    def request_stop(self, supervisor_gone: bool = False) -> None:
        """Stop fetching; in-flight work gets the grace period, then is handed back.

        When the process that started this one is gone (a one-machine run killed), the broker it
        ran is going too: in-flight work could not publish, so it is handed back at once."""
        if not self._stopping.is_set():
            log.info("%s stopping%s", self.identity, "; its supervisor is gone, so without waiting" if supervisor_gone else "")
        self._hurried = self._hurried or supervisor_gone
        self._stopping.set()

    def load_settings(self) -> ServiceStart:
        """The service's settings, validated: the first thing a service does, before any side effect."""
        if self._settings_loaded is None:
            self._settings_loaded = self.spec.start(self.runtime)
        return self._settings_loaded

    async def run(self) -> None:
        start = self.load_settings()
        self._initialise_metrics()
        topics = [model.topic for model in (*self.spec.handlers, *self.spec.produces)]
        await ensure_topics(self.kafka, sorted(set(topics)), self.runtime.connect_attempts)
        async with self.spec.open_context(start) as ctx:
            self._ctx = ctx
            self._producer = make_producer(self.kafka, self.identity)
            self._consumer = make_consumer(self.kafka, self.group_id or self.spec.name, self.identity)
            await self._producer.start()
            try:
                self._consumer.subscribe(list(self._inputs), listener=_HandBackOnRevoke(self))
                try:
                    await self._consume()
                finally:
                    self.ready = False
                    await self._drain()
                    await self._bounded(self._commit(), "committing")
                    await self._bounded(self._consumer.stop(), "leaving the group")
            finally:
                await self._bounded(self._producer.stop(), "flushing the producer")
        log.info("%s stopped", self.identity)
        if self._fatal is not None:
            raise self._fatal

    async def _consume(self) -> None:
        """Join the group and consume until a stop is requested, as one task that a stop cancels:
        with the broker gone, aiokafka's start, commit and position wait for a group coordinator
        forever. What a cancelled step leaves uncommitted is redelivered."""
        consuming = asyncio.create_task(self._join_and_consume())
        stop = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({consuming, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel({consuming, stop})
        if not consuming.cancelled():
            consuming.result()

    async def _join_and_consume(self) -> None:
        await self._consumer.start()
        self.ready = True
        log.info("%s consuming %s as group %s", self.identity, ", ".join(self._inputs), self.group_id or self.spec.name)
        while not self._stopping.is_set():
            await self._consume_once()

    async def _consume_once(self) -> None:
        full = self._apply_backpressure()
        if full:
            await self._until_a_slot_frees(timeout_seconds=0.2)
        free = max(self.runtime.concurrency - len(self._work), 1)
        # Polling while paused returns nothing but keeps the replica in its group.
        batch = await self._consumer.getmany(timeout_ms=self._poll_ms(full), max_records=free)
        for partition, records in batch.items():
            for record in records:
                self._start(partition, record)
        await self._commit()
        await self._update_lag()

    def _poll_ms(self, full: bool) -> int:
        """How long a poll waits for messages (one that arrives ends the wait): not at all when full
        (the loop waits for a slot instead), briefly while work is in flight so that its offsets are
        committed soon after it finishes, and longer when idle, where nothing but a message or a
        stop (which cancels the loop) has to end the wait."""
        if full:
            return 0
        return BUSY_POLL_MS if self._work else IDLE_POLL_MS

    def _start(self, partition: TopicPartition, record: ConsumerRecord) -> None:
        offsets = self._offsets.setdefault(partition, PartitionOffsets())
        offsets.started(record.offset)
        metrics.EVENTS_CONSUMED.labels(self.spec.name, record.topic).inc()
        work = _Work(asyncio.create_task(self._process(record, offsets)), partition)
        self._work.add(work)
        metrics.IN_FLIGHT.labels(self.spec.name).set(len(self._work))
        work.task.add_done_callback(lambda _: self._finish(work))

    def _finish(self, work: _Work) -> None:
        self._work.discard(work)
        self._slot_freed.set()
        metrics.IN_FLIGHT.labels(self.spec.name).set(len(self._work))

    async def _until_a_slot_frees(self, timeout_seconds: float) -> None:
        self._slot_freed.clear()
        try:
            await asyncio.wait_for(self._slot_freed.wait(), timeout_seconds)
        except TimeoutError:
            pass

    def _apply_backpressure(self) -> bool:
        """Pause every assigned partition while the replica is full; True when full."""
        full = len(self._work) >= self.runtime.concurrency
        assigned = self._consumer.assignment()
        if full and assigned:
            self._consumer.pause(*assigned)
        elif not full and self._paused:
            self._consumer.resume(*self._consumer.paused())
        self._paused = full
        metrics.PAUSED.labels(self.spec.name).set(int(full))
        return full

    async def _process(self, record: ConsumerRecord, offsets: PartitionOffsets) -> None:
        token = event_context.set(
            {"service": self.spec.name, "topic": record.topic, "partition": record.partition, "offset": record.offset}
        )
        try:
            outputs = await self._handle(record)
            await self._publish(outputs)
            offsets.finished(record.offset)
        except _PublishAborted:
            log.warning("stopping before the outputs were acknowledged; the message will be redelivered")
        except ConfigError as error:
            log.error("configuration error, stopping the service: %s", error)
            self._stop_with(error)
        except Exception as error:
            log.exception("unexpected failure outside the handler, stopping the service")
            self._stop_with(error)
        finally:
            event_context.reset(token)

    async def _bounded(self, step: Awaitable[None], what: str) -> None:
        """A shutdown step that gives up when Kafka does not answer (it may be stopping too,
        e.g. when the supervisor of a one-machine run was killed): what it leaves is redelivered."""
        timeout = HURRIED_STOP_STEP_TIMEOUT_SECONDS if self._hurried else STOP_STEP_TIMEOUT_SECONDS
        try:
            await asyncio.wait_for(step, timeout)
        except TimeoutError:
            log.warning("Kafka did not answer within %.0f s while %s; stopping anyway", timeout, what)

    def _stop_with(self, error: BaseException) -> None:
        self._fatal = self._fatal or error
        self._stopping.set()

    async def _handle(self, record: ConsumerRecord) -> list[tuple[str, Event]]:
        model, handler = self._inputs[record.topic]
        try:
            event = decode(model, record.value, self.kafka.max_message_bytes)
        except PoisonMessage as poison:
            await self._dead_letter(record, poison.error_class, poison.reason, attempts=1)
            return []
        event_context.set({**(event_context.get() or {}), "correlation_id": str(event.correlation_id), "event_id": str(event.event_id)})
        started = time.perf_counter()
        try:
            outputs = await self._call_with_retries(handler, event, record)
        finally:
            metrics.HANDLER_DURATION.labels(self.spec.name, handler.__name__).observe(time.perf_counter() - started)
        return [self._addressed(output.stamped(self.identity, index)) for index, output in enumerate(outputs)]

    async def _call_with_retries(self, handler: Handler, event: Event, record: ConsumerRecord) -> Sequence[Event]:
        """Call the handler and give the message the fate its error's class decides (see `fate_of`)."""
        delay = self.runtime.retry_backoff_seconds
        for attempt in range(1, self.runtime.retry_attempts + 1):
            try:
                return list(await handler(event, self._ctx) or [])
            except NoWork as skipped:
                log.info("nothing to do: %s", skipped)
                metrics.EVENTS_SKIPPED.labels(self.spec.name, record.topic).inc()
                return []
            except Exception as error:
                fate = fate_of(error)
                if fate is Fate.STOP:
                    raise
                metrics.EVENTS_FAILED.labels(self.spec.name, record.topic, type(error).__name__).inc()
                if fate is Fate.RETRY and attempt < self.runtime.retry_attempts:
                    log.warning("attempt %d of %d failed (%s: %s); retrying in %.1f s",
                                attempt, self.runtime.retry_attempts, type(error).__name__, error, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.runtime.retry_backoff_max_seconds)
                    continue
                await self._dead_letter(record, type(error).__name__, self._reason(handler, error, fate, attempt), attempt)
                return []
        raise AssertionError("unreachable: the last attempt returns or dead-letters")

    def _reason(self, handler: Handler, error: Exception, fate: Fate, attempt: int) -> str:
        """Log the failure once (a bug with its traceback) and say why the message is dead-lettered."""
        message = str(error) or repr(error)
        if fate is Fate.BUG:
            log.error("bug in handler %s, dead-lettering the message without retrying", handler.__name__, exc_info=error)
            metrics.HANDLER_BUGS.labels(self.spec.name, handler.__name__).inc()
            return f"bug in {self.identity} {handler.__name__}: {type(error).__name__}: {message}"
        if fate is Fate.RETRY:
            log.error("handler %s still failing after %d attempts: %s: %s", handler.__name__, attempt,
                      type(error).__name__, message)
            return f"still failing after {attempt} attempts: {message}"
        log.error("bad input for handler %s: %s: %s", handler.__name__, type(error).__name__, message)
        return message

    def _addressed(self, output: Event) -> tuple[str, Event]:
        topic = self._output_topics.get(type(output))
        if topic is None:
            raise ConfigError(f"{self.spec.name} returned a {type(output).__name__}, which it does not declare")
        return topic, output

    async def _publish(self, outputs: list[tuple[str, Event]]) -> None:
        dealt: Counter[str] = Counter()
        for topic, event in outputs:
            partition = None
            if isinstance(event, self.spec.spread):
                partition = await self._dealt_partition(topic, event, dealt[topic])
                dealt[topic] += 1
            await self._send(topic, encode(event), event.partition_key.encode(), headers_for(event), partition)
            metrics.EVENTS_PRODUCED.labels(self.spec.name, topic).inc()

    async def _dealt_partition(self, topic: str, event: Event, turn: int) -> int:
        partitions = sorted(await self._producer.partitions_for(topic))
        start = (event.causation_id or event.event_id).int
        return partitions[(start + turn) % len(partitions)]

    async def _send(self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]],
                    partition: int | None = None) -> None:
        """Send and wait for acks=all, retrying while the broker is away until the service stops."""
        delay = self.runtime.retry_backoff_seconds
        while True:
            try:
                await self._producer.send_and_wait(topic, value, key=key, headers=headers, partition=partition)
                return
            except KafkaError as error:
                if not error.retriable:
                    raise
                if self._stopping.is_set():
                    raise _PublishAborted from error
                log.warning("publishing to %s failed (%s); retrying in %.1f s", topic, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.runtime.retry_backoff_max_seconds)

    async def _dead_letter(self, record: ConsumerRecord, error_class: str, reason: str, attempts: int) -> None:
        letter = DeadLetter(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key_base64=base64.b64encode(record.key).decode() if record.key is not None else None,
            value_base64=base64.b64encode(record.value or b"").decode(),
            headers=[(name, base64.b64encode(value or b"").decode()) for name, value in record.headers],
            error_class=error_class,
            reason=reason,
            attempts=attempts,
            service=self.identity,
        )
        topic = dead_letter_topic(record.topic)
        await self._send(topic, letter.model_dump_json().encode(), record.key, [("error-class", error_class.encode())])
        metrics.EVENTS_DEAD_LETTERED.labels(self.spec.name, record.topic, error_class).inc()
        log.error("dead-lettered to %s: %s: %s", topic, error_class, reason)

    async def _commit(self, partitions: Sequence[TopicPartition] | None = None) -> None:
        wanted = {
            partition: offset
            for partition, tracker in self._offsets.items()
            if (partitions is None or partition in partitions) and (offset := tracker.committable()) is not None
        }
        if not wanted:
            return
        try:
            await self._consumer.commit(wanted)
        except KafkaError as error:
            log.warning("commit of %s failed (%s); those messages will be redelivered", wanted, error)
            return
        for partition, offset in wanted.items():
            self._offsets[partition].committed = offset

    async def hand_back(self, revoked: set[TopicPartition]) -> None:
        """On revocation: let revoked work finish within a bounded wait, commit it, cancel the rest."""
        leaving = [w.task for w in self._work if w.partition in revoked]
        if leaving:
            grace = min(self.runtime.shutdown_grace_seconds, self.kafka.session_timeout_ms / 2000)
            _, unfinished = await asyncio.wait(leaving, timeout=grace)
            await _cancel(unfinished)
        await self._commit(list(revoked))
        for partition in revoked:
            self._offsets.pop(partition, None)
            _remove_series(metrics.CONSUMER_LAG, self.spec.name, partition.topic, str(partition.partition))

    async def _drain(self) -> None:
        tasks = [w.task for w in self._work]
        if tasks:
            grace = 0.0 if self._hurried else self.runtime.shutdown_grace_seconds
            log.info("waiting up to %.0f s for %d message(s) in flight", grace, len(tasks))
            _, unfinished = await asyncio.wait(tasks, timeout=grace)
            if unfinished:
                log.warning("handing back %d unfinished message(s) uncommitted", len(unfinished))
            await _cancel(unfinished)

    async def _update_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_updated_at < 2.0:
            return
        self._lag_updated_at = now
        for partition in self._consumer.assignment():
            highwater = self._consumer.highwater(partition)
            if highwater is None:
                continue
            try:
                position = await self._consumer.position(partition)
            except KafkaError:
                continue
            metrics.CONSUMER_LAG.labels(self.spec.name, partition.topic, str(partition.partition)).set(
                max(highwater - position, 0)
            )


def _remove_series(metric: Any, *labels: str) -> None:
    try:
        metric.remove(*labels)
    except KeyError:
        pass  # the series was never set


async def _cancel(tasks: set[asyncio.Task[None]] | set[asyncio.Future[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _HandBackOnRevoke(ConsumerRebalanceListener):
    def __init__(self, runner: ServiceRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._runner.hand_back(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %s", ", ".join(f"{p.topic}[{p.partition}]" for p in sorted(assigned)) or "nothing")
