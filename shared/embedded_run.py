"""Run one request through every service in this process, on an embedded or given broker.

The request is done when the fetcher has committed it (so every AB it will stage is on
`data-staged`) and every staged AB has reached a final state on `ingested`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.bus.kafka import ensure_topics
from shared.bus.publish import publish
from shared.bus.runtime import ServiceRunner, ServiceSpec
from shared.contracts import DataStaged, DateRequested, Ingested
from shared.errors import TransientError
from shared.settings import KafkaSettings, RuntimeSettings

log = logging.getLogger(__name__)


@dataclass
class RequestProgress:
    """ABs of one request, as seen on `data-staged` and `ingested`."""

    request_id: str
    staged: dict[str, DataStaged] = field(default_factory=dict)
    final: dict[str, Ingested] = field(default_factory=dict)
    fetched: bool = False
    """The fetcher has committed the request: no more ABs will be staged for it."""

    @property
    def done(self) -> bool:
        return self.fetched and set(self.staged) <= set(self.final)

    def summary(self) -> dict[str, object]:
        return {
            "request_id": self.request_id,
            "abs": [
                {
                    "ab_id": ab_id,
                    "raw_type": event.ab.raw_type,
                    "recipe": event.ab.recipe,
                    "state": event.state.value,
                    "reason": event.reason,
                    "scores": {},
                    "product_ids": event.product_ids,
                }
                for ab_id, event in sorted(self.final.items())
            ],
        }


async def run_request(
    request: DateRequested,
    services: list[ServiceSpec],
    kafka: KafkaSettings,
    runtime: RuntimeSettings,
    timeout_seconds: float,
    on_progress: Callable[[RequestProgress], None] = lambda _: None,
) -> RequestProgress:
    topics = sorted({model.topic for spec in services for model in (*spec.handlers, *spec.produces)})
    await ensure_topics(kafka, topics, runtime.connect_attempts)
    runners = [ServiceRunner(spec, kafka, runtime) for spec in services]
    tasks = [asyncio.create_task(runner.run(), name=runner.spec.name) for runner in runners]
    progress = RequestProgress(str(request.request_id))
    try:
        await _until_ready(runners, tasks, timeout_seconds)
        await publish(kafka, [request])
        await _follow(progress, kafka, request, tasks, timeout_seconds, on_progress)
    finally:
        for runner in runners:
            runner.request_stop()
        await asyncio.gather(*tasks, return_exceptions=True)
    return progress


async def _until_ready(runners: list[ServiceRunner], tasks: list[asyncio.Task[None]], timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not all(runner.ready for runner in runners):
        _raise_if_a_service_died(tasks)
        if time.monotonic() > deadline:
            raise TransientError("the services did not start in time")
        await asyncio.sleep(0.1)


def _raise_if_a_service_died(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        if task.done():
            error = task.exception() if not task.cancelled() else None
            raise TransientError(f"service {task.get_name()} stopped: {error or 'cancelled'}")


async def _follow(
    progress: RequestProgress,
    kafka: KafkaSettings,
    request: DateRequested,
    tasks: list[asyncio.Task[None]],
    timeout_seconds: float,
    on_progress: Callable[[RequestProgress], None],
) -> None:
    watched = {kafka.topic(DataStaged.topic): DataStaged, kafka.topic(Ingested.topic): Ingested}
    consumer = AIOKafkaConsumer(
        *watched, **kafka.client_options(), group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
    )
    fetcher_offsets = AIOKafkaConsumer(**kafka.client_options(), group_id="fetcher", enable_auto_commit=False)
    await consumer.start()
    await fetcher_offsets.start()
    deadline = time.monotonic() + timeout_seconds
    try:
        while not progress.done:
            _raise_if_a_service_died(tasks)
            if time.monotonic() > deadline:
                raise TransientError(f"request {progress.request_id} did not finish within {timeout_seconds:.0f} s")
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for record in records:
                    _record(progress, watched[record.topic].model_validate_json(record.value))
            progress.fetched = progress.fetched or await _fetcher_committed(fetcher_offsets, kafka, request)
            on_progress(progress)
    finally:
        await consumer.stop()
        await fetcher_offsets.stop()


def _record(progress: RequestProgress, event: DataStaged | Ingested) -> None:
    if str(event.correlation_id) != progress.request_id:
        return
    if isinstance(event, DataStaged):
        progress.staged[event.ab.ab_id] = event
    else:
        progress.final[event.ab.ab_id] = event


async def _fetcher_committed(consumer: AIOKafkaConsumer, kafka: KafkaSettings, request: DateRequested) -> bool:
    """Has the fetcher committed past the request? Every partition's commit is checked."""
    topic = kafka.topic(DateRequested.topic)
    partitions = consumer.partitions_for_topic(topic) or set()
    if not partitions:
        await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata of a topic we do not consume
        partitions = consumer.partitions_for_topic(topic) or set()
    for partition in partitions:
        tp = TopicPartition(topic, partition)
        committed = await consumer.committed(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        if (committed or 0) < end:
            return False
    return bool(partitions)


def summary_json(progress: RequestProgress) -> str:
    return json.dumps(progress.summary(), indent=2)
