"""The real parts the integration tests stand on: Apache Kafka (KRaft) and PostgreSQL.

Each test drives a private server it may restart; the session fixtures get a smoke test.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from tests.support.apache_kafka import MAX_MESSAGE_BYTES, ApacheKafka, SaslUser
from tests.support.fixtures import KafkaFactory, PostgresFactory

# Also declared by tests/conftest.py; pytest registers the plugin once.
pytest_plugins = ["tests.support.fixtures"]

PARTITIONS = 3
LARGE_PAYLOAD_BYTES = 5 * 1024 * 1024


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create_topic(bootstrap_servers: str, topic: str, partitions: int = PARTITIONS, **client: object) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **client)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


async def produce(bootstrap_servers: str, topic: str, records: list[tuple[bytes, bytes]], **client: object) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        max_request_size=MAX_MESSAGE_BYTES,
        **client,
    )
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def group_consumer(bootstrap_servers: str, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
        fetch_max_bytes=MAX_MESSAGE_BYTES,
    )


async def consume_and_commit(bootstrap_servers: str, topic: str, group: str, count: int) -> list[bytes]:
    """Read `count` records as group `group`, committing offset+1 of each after reading it."""
    consumer = group_consumer(bootstrap_servers, topic, group)
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(values) < count:
                batches = await consumer.getmany(timeout_ms=1000)
                for partition, records in batches.items():
                    values += [record.value for record in records]
                    await consumer.commit({partition: records[-1].offset + 1})
    finally:
        await consumer.stop()
    return values


async def committed_offsets(bootstrap_servers: str, topic: str, group: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)}
    finally:
        await consumer.stop()


@pytest.mark.kafka
@pytest.mark.slow
async def test_apache_kafka_keeps_topics_and_committed_offsets_across_a_restart(
    apache_kafka_factory: KafkaFactory,
) -> None:
    kafka: ApacheKafka = apache_kafka_factory()
    topic, group = unique("real-parts"), unique("group")
    await create_topic(kafka.bootstrap_servers, topic)
    records = [(f"ab-{i}".encode(), f"value-{i}".encode()) for i in range(30)]
    records.append((b"large", b"x" * LARGE_PAYLOAD_BYTES))
    await produce(kafka.bootstrap_servers, topic, records)

    values = await consume_and_commit(kafka.bootstrap_servers, topic, group, len(records))
    assert sorted(values) == sorted(value for _, value in records)
    before = await committed_offsets(kafka.bootstrap_servers, topic, group)
    assert sum(offset or 0 for offset in before.values()) == len(records)
    assert sum(1 for offset in before.values() if offset) > 1, "keys should spread over the partitions"

    await asyncio.to_thread(kafka.restart)

    assert await committed_offsets(kafka.bootstrap_servers, topic, group) == before
    await produce(kafka.bootstrap_servers, topic, [(b"after", b"after-restart")])
    assert await consume_and_commit(kafka.bootstrap_servers, topic, group, 1) == [b"after-restart"]


@pytest.mark.kafka
async def test_apache_kafka_fixture_answers(apache_kafka: str) -> None:
    topic = unique("smoke")
    await create_topic(apache_kafka, topic, partitions=1)
    await produce(apache_kafka, topic, [(b"k", b"v")])
    assert await consume_and_commit(apache_kafka, topic, unique("group"), 1) == [b"v"]


@pytest.mark.kafka
@pytest.mark.slow
async def test_apache_kafka_sasl_listener_accepts_its_user_only(apache_kafka_factory: KafkaFactory) -> None:
    user = SaslUser("phoenix", "test-secret")
    kafka = apache_kafka_factory(sasl_users=(user,))
    sasl = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"}
    good = {**sasl, "sasl_plain_username": user.username, "sasl_plain_password": user.password}
    topic = unique("sasl")

    await create_topic(kafka.sasl_bootstrap_servers, topic, **good)
    await produce(kafka.sasl_bootstrap_servers, topic, [(b"k", b"over-sasl")], **good)
    assert await consume_and_commit(kafka.bootstrap_servers, topic, unique("group"), 1) == [b"over-sasl"]

    wrong = {**sasl, "sasl_plain_username": user.username, "sasl_plain_password": "wrong"}
    with pytest.raises(KafkaError):
        async with asyncio.timeout(30):
            await produce(kafka.sasl_bootstrap_servers, topic, [(b"k", b"refused")], **wrong)


@pytest.mark.postgres
def test_postgres_keeps_rows_across_a_restart_and_a_crash(postgres_factory: PostgresFactory) -> None:
    server = postgres_factory()
    engine = sa.create_engine(server.url, pool_pre_ping=True)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE frames (id serial PRIMARY KEY, name text NOT NULL)"))
            connection.execute(sa.text("INSERT INTO frames (name) VALUES ('bias'), ('flat')"))

        server.restart()
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO frames (name) VALUES ('arc')"))

        server.kill()
        server.start()
        with engine.connect() as connection:
            names = connection.execute(sa.text("SELECT name FROM frames ORDER BY id")).scalars().all()
        assert names == ["bias", "flat", "arc"]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_url_fixture_answers(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
