"""Kafka clients built from settings, and topic creation at start-up."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
    UnsupportedSaslMechanismError,
)

from shared.contracts import dead_letter_topic
from shared.errors import ConfigError, TransientError
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)

TOPIC_MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Topics accept messages larger than a service will read, so oversized ones reach the DLQ."""
DLQ_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""A dead letter carries the original bytes base64-encoded (4/3 of their size)."""


class BrokerUnavailable(TransientError):
    """The broker could not be reached within the configured attempts."""


class BrokerRefusedCredentials(ConfigError):
    """The broker answered but refused the SASL credentials or mechanism: retrying cannot help."""


def make_producer(settings: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **settings.client_options(),
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.idempotence,
        max_request_size=DLQ_MAX_MESSAGE_BYTES + 65_536,
        linger_ms=5,
    )


def make_consumer(settings: KafkaSettings, group_id: str, client_id: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **settings.client_options(),
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        fetch_max_bytes=DLQ_MAX_MESSAGE_BYTES,
        max_partition_fetch_bytes=TOPIC_MAX_MESSAGE_BYTES,
    )


async def ensure_topics(settings: KafkaSettings, names: list[str], attempts: int = 10) -> None:
    """Create each topic and its dead-letter topic if missing, retrying the first connection."""
    wanted = [settings.topic(name) for name in names]
    new_topics = [_new_topic(settings, name, TOPIC_MAX_MESSAGE_BYTES) for name in wanted] + [
        _new_topic(settings, dead_letter_topic(name), DLQ_MAX_MESSAGE_BYTES) for name in wanted
    ]
    admin = await _connected_admin(settings, attempts)
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in new_topics if topic.name not in existing]
        if missing:
            await _create(admin, missing)
            log.info("created topics %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()


def _new_topic(settings: KafkaSettings, name: str, max_message_bytes: int) -> NewTopic:
    return NewTopic(
        name=name,
        num_partitions=settings.partitions,
        replication_factor=settings.replication_factor,
        topic_configs={"max.message.bytes": str(max_message_bytes)},
    )


async def _create(admin: AIOKafkaAdminClient, topics: list[NewTopic]) -> None:
    try:
        await admin.create_topics(topics)
    except TopicAlreadyExistsError:
        pass  # another replica created it first


async def _connected_admin(settings: KafkaSettings, attempts: int) -> AIOKafkaAdminClient:
    delay = 0.5
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=10_000)
        try:
            await admin.start()
            return admin
        except (KafkaConnectionError, KafkaError, OSError) as error:
            await admin.close()
            refused = await _sasl_refusal(settings)
            if refused is not None:
                raise BrokerRefusedCredentials(
                    f"Kafka at {settings.bootstrap_servers} refused SASL {settings.sasl_mechanism} for user "
                    f"{settings.sasl_username!r}: {refused}; check PHOENIX_KAFKA_SASL_USERNAME, "
                    "PHOENIX_KAFKA_SASL_PASSWORD and PHOENIX_KAFKA_SASL_MECHANISM"
                ) from None
            log.warning(
                "broker %s not reachable (attempt %d of %d): %s",
                settings.bootstrap_servers, attempt, attempts, error or type(error).__name__,
            )
            if attempt < attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
    raise BrokerUnavailable(f"cannot reach Kafka at {settings.bootstrap_servers} after {attempts} attempts")


async def _sasl_refusal(settings: KafkaSettings) -> str | None:
    """Why the first bootstrap broker refuses our SASL log-in, or None (no SASL, or another failure).

    aiokafka reports a failed bootstrap only as "Unable to bootstrap", whatever the cause; one
    direct connection tells a wrong password (a deployment mistake) from a broker that is down.
    """
    if not settings.security_protocol.startswith("SASL"):
        return None
    host, _, port = settings.bootstrap_servers.split(",")[0].strip().rpartition(":")
    options = settings.client_options()
    del options["bootstrap_servers"]
    try:
        connection = await create_conn(host.strip("[]"), int(port), request_timeout_ms=10_000, **options)
    except (SaslAuthenticationFailed, UnsupportedSaslMechanismError) as error:
        return str(error)
    except (TimeoutError, KafkaError, OSError, ValueError):
        return None
    connection.close()
    return None
