"""Services over a SASL-protected Apache Kafka (SASL_PLAINTEXT, mechanism PLAIN).

With the right credentials a real service process consumes a request and produces its output;
with wrong ones it stops at once with an error naming the cause, exits non-zero, and never
writes a password to its log. (TLS is not covered: see tests/security/README.md.)
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from shared.bus.kafka import BrokerRefusedCredentials
from shared.bus.publish import publish
from shared.settings import KafkaSettings
from tests.support.apache_kafka import SaslUser
from tests.support.bus import env_for, read_topic, request
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

USER = SaslUser("phoenix-service", "Sasl-Pa55word.for-tests")
WRONG_PASSWORD = "Not-the-Pa55word.7"
SERVICE = "tests.support.specs:SLOW"


def sasl_settings(bootstrap: str, prefix: str, username: str = USER.username, password: str = USER.password,
                  mechanism: str = "PLAIN") -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
        sasl_username=username, sasl_password=password, topic_prefix=prefix, partitions=1,
        session_timeout_ms=6000, heartbeat_interval_ms=1000,
    )


def sasl_env(settings: KafkaSettings, **extra: str) -> dict[str, str]:
    assert settings.sasl_password is not None and settings.sasl_mechanism and settings.sasl_username
    return env_for(
        settings,
        PHOENIX_KAFKA_SECURITY_PROTOCOL=settings.security_protocol,
        PHOENIX_KAFKA_SASL_MECHANISM=settings.sasl_mechanism,
        PHOENIX_KAFKA_SASL_USERNAME=settings.sasl_username,
        PHOENIX_KAFKA_SASL_PASSWORD=settings.sasl_password.get_secret_value(),
        PHOENIX_TEST_HANDLER_SECONDS="0",
        **extra,
    )


def prefix() -> str:
    return f"sasl{uuid.uuid4().hex[:8]}."


async def test_a_service_consumes_and_produces_over_sasl(apache_kafka_factory, tmp_path) -> None:
    kafka = apache_kafka_factory(sasl_users=(USER,))
    settings = sasl_settings(kafka.sasl_bootstrap_servers, prefix())
    service = ServiceProcess(SERVICE, sasl_env(settings), tmp_path, label="sasl-service")
    try:
        await asyncio.to_thread(service.wait_for_log, "assigned", 90)
        event = request()
        await publish(settings, [event])  # the publisher authenticates too
        # Read back through the broker's PLAINTEXT listener: the service only knew the SASL one.
        plain = KafkaSettings(bootstrap_servers=kafka.bootstrap_servers, topic_prefix=settings.topic_prefix)
        staged = await read_topic(plain, "data-staged", expected=1, timeout_seconds=60)
        assert [d["correlation_id"] for d in staged] == [str(event.correlation_id)]
    finally:
        status = service.stop()
    assert status == 0, service.log[-2000:]
    assert USER.password not in service.log


async def test_wrong_credentials_stop_a_service_at_once_without_logging_the_password(
    apache_kafka_factory, tmp_path
) -> None:
    kafka = apache_kafka_factory(sasl_users=(USER,))
    cases = {
        "wrong-password": sasl_settings(kafka.sasl_bootstrap_servers, prefix(), password=WRONG_PASSWORD),
        "unknown-user": sasl_settings(kafka.sasl_bootstrap_servers, prefix(), username="intruder",
                                      password=WRONG_PASSWORD),
    }
    for label, settings in cases.items():
        # Twenty connection attempts would take over 80 s if a refusal were retried like an outage.
        service = ServiceProcess(SERVICE, sasl_env(settings, PHOENIX_CONNECT_ATTEMPTS="20"), tmp_path, label=label)
        started = time.monotonic()
        try:
            status = await asyncio.to_thread(service.process.wait, 120)
        finally:
            service.stop()
        elapsed = time.monotonic() - started
        log = service.log
        assert status != 0, (label, log[-2000:])
        assert elapsed < 30, f"{label}: took {elapsed:.0f} s to give up"
        assert f"refused SASL PLAIN for user {settings.sasl_username!r}" in log, (label, log[-2000:])
        assert "Invalid username or password" in log, (label, log[-2000:])
        assert WRONG_PASSWORD not in log and USER.password not in log, label
        assert "Traceback" not in log, (label, log[-2000:])


async def test_publishing_with_wrong_credentials_raises_a_configuration_error(apache_kafka_factory) -> None:
    kafka = apache_kafka_factory(sasl_users=(USER,))
    for settings, cause in (
        (sasl_settings(kafka.sasl_bootstrap_servers, prefix(), password=WRONG_PASSWORD), "Invalid username or password"),
        (sasl_settings(kafka.sasl_bootstrap_servers, prefix(), mechanism="SCRAM-SHA-256"), "SCRAM-SHA-256"),
    ):
        started = time.monotonic()
        with pytest.raises(BrokerRefusedCredentials) as refused:
            await publish(settings, [request()], connect_attempts=5)
        assert time.monotonic() - started < 15
        assert cause in str(refused.value)
        assert WRONG_PASSWORD not in str(refused.value) and USER.password not in str(refused.value)
        assert repr(settings).count(USER.password) == 0, "settings never print the secret"


def test_settings_keep_the_password_out_of_their_text() -> None:
    settings = sasl_settings("127.0.0.1:9", "p.")
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert USER.password not in text
