"""The service runtime against a real broker: Apache Kafka (KRaft), one node."""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import asynccontextmanager

import pytest

from shared.bus.publish import publish
from shared.bus.runtime import ServiceRunner
from shared.settings import KafkaSettings, RuntimeSettings
from tests.support.bus import (
    Broker,
    committed_offsets,
    fast_runtime,
    read_partitions,
    read_topic,
    request,
    send_raw,
    wait_until,
)
from tests.support.specs import Recorder, recording_spec

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


@asynccontextmanager
async def running(recorder: Recorder, kafka: KafkaSettings, runtime: RuntimeSettings | None = None, group: str = "g",
                  spread: bool = False):
    """A replica running in this event loop until the block ends (then stopped gracefully)."""
    runner = ServiceRunner(recording_spec(recorder, spread), kafka, runtime or fast_runtime(), group_id=kafka.topic_prefix + group)
    task = asyncio.create_task(runner.run())
    try:
        await wait_until(lambda: runner.ready or task.done(), 60, "the replica to start")
        yield runner
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, 60)


async def assigned(runner: ServiceRunner) -> bool:
    return bool(runner._consumer.assignment())  # noqa: SLF001 - the test waits for group membership


async def test_handles_each_event_and_publishes_its_outputs(broker: Broker) -> None:
    kafka = broker.settings()
    requests = [request(night=f"2015-02-{day:02d}") for day in range(1, 6)]
    recorder = Recorder("a")
    async with running(recorder, kafka):
        await publish(kafka, requests)
        staged = await read_topic(kafka, "data-staged", expected=5)
    assert sorted(d["correlation_id"] for d in staged) == sorted(str(r.correlation_id) for r in requests)
    assert all(d["produced_by"].startswith("recorder@") for d in staged)
    assert {d["causation_id"] for d in staged} == {str(r.event_id) for r in requests}


async def test_two_replicas_share_the_partitions(broker: Broker) -> None:
    kafka = broker.settings(partitions=4)
    first, second = Recorder("first"), Recorder("second")
    async with running(first, kafka) as one, running(second, kafka) as two:
        await wait_until(lambda: all(r._consumer.assignment() for r in (one, two)), 60, "both replicas to own partitions")
        partitions_one, partitions_two = one._consumer.assignment(), two._consumer.assignment()
        requests = [request(night=f"2015-03-{day:02d}") for day in range(1, 21)]
        await publish(kafka, requests)
        staged = await read_topic(kafka, "data-staged", expected=20, settle_seconds=1)
    assert not partitions_one & partitions_two
    assert len(partitions_one | partitions_two) == 4
    assert first.handled and second.handled, "both replicas got work"
    handled = [e.event_id for e in first.handled + second.handled]
    assert len(handled) == 20 and set(handled) == {r.event_id for r in requests}, "each event handled once"
    assert len(staged) == 20


async def test_spread_outputs_of_one_input_are_dealt_evenly_over_the_partitions(broker: Broker) -> None:
    kafka = broker.settings(partitions=4)
    single = request()
    async with running(Recorder("a", outputs_per_event=12), kafka, spread=True):
        await publish(kafka, [single])
        by_partition = await read_partitions(kafka, "data-staged", expected=12)
    assert sorted(len(documents) for documents in by_partition.values()) == [3, 3, 3, 3]
    keys = {d["ab"]["ab_id"] for documents in by_partition.values() for d in documents}
    assert len(keys) == 12

    redelivered = broker.settings(partitions=4)
    async with running(Recorder("b", outputs_per_event=12), redelivered, spread=True):
        await publish(redelivered, [single])
        again = await read_partitions(redelivered, "data-staged", expected=12)
    assert {p: [d["event_id"] for d in ds] for p, ds in again.items()} == {
        p: [d["event_id"] for d in ds] for p, ds in by_partition.items()
    }, "the same input deals the same outputs to the same partitions"


async def test_poison_messages_go_to_the_dead_letter_topic_and_later_messages_flow(broker: Broker) -> None:
    kafka = broker.settings(partitions=1)
    valid = request()
    wrong_schema = json.dumps({"schema_version": 1, "night": "not a date"}).encode()
    unknown_version = valid.model_copy(update={"schema_version": 7}).model_dump_json().encode()
    oversized = b'{"padding": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    poison = [b"{not json", wrong_schema, unknown_version, oversized]
    recorder = Recorder("a")
    async with running(recorder, kafka):
        await send_raw(kafka, "date-requested", [*poison, valid.model_dump_json().encode()], key=b"k")
        staged = await read_topic(kafka, "data-staged", expected=1)
        letters = await read_topic(kafka, "date-requested.dlq", expected=4, settle_seconds=0.5)
    # Poison is handled concurrently, so the letters' order is the order of their failures: compare
    # in the order of the original offsets.
    letters.sort(key=lambda letter: letter["offset"])
    assert [d["correlation_id"] for d in staged] == [str(valid.correlation_id)]
    assert [letter["error_class"] for letter in letters] == [
        "InvalidJson", "SchemaError", "UnknownSchemaVersion", "OversizedMessage"
    ]
    assert [base64.b64decode(letter["value_base64"]) for letter in letters] == poison
    assert all(letter["topic"] == kafka.topic("date-requested") and letter["attempts"] == 1 for letter in letters)
    assert "night" in letters[1]["reason"]
    assert "schema_version 7" in letters[2]["reason"]


async def test_transient_failures_are_retried_then_dead_lettered(broker: Broker) -> None:
    kafka = broker.settings(partitions=1)
    recovers, never = request(night="2015-04-01"), request(night="2015-04-02")
    recorder = Recorder("a", fail_first=2)
    async with running(recorder, kafka, fast_runtime(retry_attempts=3)):
        await publish(kafka, [recovers])
        staged = await read_topic(kafka, "data-staged", expected=1)
        recorder.fail_first = 99
        await publish(kafka, [never])
        letters = await read_topic(kafka, "date-requested.dlq", expected=1)
    assert [d["correlation_id"] for d in staged] == [str(recovers.correlation_id)]
    assert recorder.attempts[str(recovers.event_id)] == 3
    assert recorder.attempts[str(never.event_id)] == 3
    assert letters[0]["error_class"] == "TransientError" and letters[0]["attempts"] == 3
    assert "simulated outage" in letters[0]["reason"]


async def test_a_full_replica_pauses_and_never_exceeds_its_concurrency(broker: Broker) -> None:
    kafka = broker.settings(partitions=2)
    recorder = Recorder("a", delay_seconds=0.5)
    async with running(recorder, kafka, fast_runtime(concurrency=2)):
        await publish(kafka, [request(night=f"2015-05-{day:02d}") for day in range(1, 9)])
        staged = await read_topic(kafka, "data-staged", expected=8, timeout_seconds=60)
    assert len(staged) == 8
    assert recorder.most_running == 2


async def test_graceful_shutdown_commits_finished_work_and_hands_back_the_rest(broker: Broker) -> None:
    kafka = broker.settings(partitions=1)
    group = "graceful"
    quick = Recorder("quick")
    async with running(quick, kafka, group=group):
        await publish(kafka, [request(night="2015-06-01"), request(night="2015-06-02")])
        await read_topic(kafka, "data-staged", expected=2)
    assert await committed_offsets(kafka, "date-requested", kafka.topic_prefix + group) == {0: 2}

    slow = Recorder("slow", delay_seconds=30)
    async with running(slow, kafka, fast_runtime(shutdown_grace_seconds=0.5), group=group):
        await publish(kafka, [request(night="2015-06-03")])
        await wait_until(lambda: slow.running == 1, 60, "the slow handler to start")
    assert await committed_offsets(kafka, "date-requested", kafka.topic_prefix + group) == {0: 2}, (
        "the unfinished message was handed back uncommitted"
    )

    after = Recorder("after")
    async with running(after, kafka, group=group):
        await wait_until(lambda: len(after.handled) == 1, 60, "the handed-back message to be redelivered")
    assert str(after.handled[0].night) == "2015-06-03"
