"""Talking to a real broker from tests: raw publishing, reading topics, committed offsets."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.bus.kafka import DLQ_MAX_MESSAGE_BYTES, ensure_topics
from shared.contracts import DateRequested
from shared.settings import KafkaSettings, RuntimeSettings
from tools.broker.kafka import KafkaBroker


@dataclass(frozen=True)
class Broker:
    """A running Apache Kafka the tests use."""

    bootstrap_servers: str

    def settings(self, prefix: str | None = None, partitions: int = 3) -> KafkaSettings:
        return KafkaSettings(
            bootstrap_servers=self.bootstrap_servers,
            topic_prefix=prefix if prefix is not None else f"t{uuid.uuid4().hex[:10]}.",
            partitions=partitions,
            # Apache Kafka refuses session timeouts under group.min.session.timeout.ms (6 s by default).
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
        )


@contextmanager
def started_broker(log_dir: Path | None = None) -> Iterator[Broker]:
    """A broker of its own for the time of the block (benchmarks); its output in `log_dir`."""
    with tempfile.TemporaryDirectory() as folder:
        output = log_dir / "broker.log" if log_dir else None
        with KafkaBroker(Path(folder), output=output) as kafka:
            yield Broker(kafka.bootstrap_servers)


def env_for(settings: KafkaSettings, **extra: str) -> dict[str, str]:
    """Environment for a `phoenix service` process using these settings."""
    env = {
        "PHOENIX_KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "PHOENIX_KAFKA_TOPIC_PREFIX": settings.topic_prefix,
        "PHOENIX_KAFKA_PARTITIONS": str(settings.partitions),
        "PHOENIX_KAFKA_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
        "PHOENIX_KAFKA_HEARTBEAT_INTERVAL_MS": str(settings.heartbeat_interval_ms),
    }
    return {**env, **extra}


def fast_runtime(**overrides: object) -> RuntimeSettings:
    defaults: dict[str, object] = {
        "retry_backoff_seconds": 0.05, "retry_backoff_max_seconds": 0.2, "shutdown_grace_seconds": 5, "concurrency": 4,
    }
    return RuntimeSettings(**{**defaults, **overrides})


def request(night: str = "2015-02-23", **fields: object) -> DateRequested:
    return DateRequested(
        correlation_id=uuid.uuid4(), instrument_mode="UVES_ECHELLE", night=date.fromisoformat(night), **fields
    )


async def send_raw(settings: KafkaSettings, topic: str, values: list[bytes], key: bytes | None = None) -> None:
    await ensure_topics(settings, [topic])
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", max_request_size=DLQ_MAX_MESSAGE_BYTES
    )
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(settings.topic(topic), value, key=key)
    finally:
        await producer.stop()


async def read_topic(
    settings: KafkaSettings, topic: str, expected: int, timeout_seconds: float = 30.0, settle_seconds: float = 0.0
) -> list[dict]:
    """JSON documents on `topic` (full name after the prefix): at least `expected`, waiting up to the timeout.

    With `settle_seconds`, keeps reading that long after reaching `expected`, so duplicates show up.
    """
    return await read_until(settings, topic, lambda documents: len(documents) >= expected, timeout_seconds,
                            settle_seconds)


async def read_until(
    settings: KafkaSettings, topic: str, done: Callable[[list[dict]], bool], timeout_seconds: float = 30.0,
    settle_seconds: float = 0.0,
) -> list[dict]:
    """JSON documents on `topic` once `done(documents)` holds (or the timeout passes), then `settle_seconds` more."""
    return [document for _, document in await _read_documents(settings, topic, done, timeout_seconds, settle_seconds)]


async def read_partitions(settings: KafkaSettings, topic: str, expected: int,
                          timeout_seconds: float = 30.0) -> dict[int, list[dict]]:
    """At least `expected` JSON documents on `topic`, by the partition each was on."""
    read = await _read_documents(settings, topic, lambda documents: len(documents) >= expected, timeout_seconds, 0.0)
    by_partition: dict[int, list[dict]] = {}
    for partition, document in read:
        by_partition.setdefault(partition, []).append(document)
    return by_partition


async def _read_documents(
    settings: KafkaSettings, topic: str, done: Callable[[list[dict]], bool], timeout_seconds: float,
    settle_seconds: float,
) -> list[tuple[int, dict]]:
    """(partition, JSON document) of the messages on `topic`, read as `read_until` says."""
    await ensure_topics(settings, [topic])  # Kafka does not create a topic a reader asks for
    consumer = AIOKafkaConsumer(
        settings.topic(topic), bootstrap_servers=settings.bootstrap_servers, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None, fetch_max_bytes=DLQ_MAX_MESSAGE_BYTES,
        max_partition_fetch_bytes=DLQ_MAX_MESSAGE_BYTES,
    )
    await consumer.start()
    read: list[tuple[int, dict]] = []
    documents: list[dict] = []
    deadline = time.monotonic() + timeout_seconds
    settled_at: float | None = None
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            new = [(r.partition, json.loads(r.value)) for records in batch.values() for r in records]
            read += new
            documents += [document for _, document in new]
            if done(documents):
                settled_at = settled_at or time.monotonic()
                if time.monotonic() - settled_at >= settle_seconds:
                    break
    finally:
        await consumer.stop()
    return read


async def committed_offsets(settings: KafkaSettings, topic: str, group: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(settings.topic(topic)) or set()
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata of a topic we do not consume
            partitions = consumer.partitions_for_topic(settings.topic(topic)) or set()
        return {p: await consumer.committed(TopicPartition(settings.topic(topic), p)) for p in sorted(partitions)}
    finally:
        await consumer.stop()


async def wait_until(condition, timeout_seconds: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout_seconds:.0f} s waiting for {what}")
