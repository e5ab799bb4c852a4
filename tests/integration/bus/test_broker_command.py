"""`phoenix broker`: Apache Kafka on one machine, as a user starts it, used by an independent
client (librdkafka with an idempotent producer) and by `phoenix request`; its log survives a
restart, and it dies with the command that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.support.bus import Broker, read_topic
from tests.support.processes import PHOENIX
from tools.broker.kafka import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(240)]


def start_broker(port: int, data: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen([PHOENIX, "broker", "--port", str(port), "--data", str(data)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line == f"bootstrap=127.0.0.1:{port}", process.stderr.read() if process.poll() is not None else line
    return process


def produce_idempotently(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """librdkafka, not aiokafka: an independent client with enable.idempotence=true."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        future.result(timeout=30)
    errors: list[object] = []
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for value in values:
        producer.produce(topic, value=value, on_delivery=lambda error, _: errors.append(error) if error else None)
    assert producer.flush(60) == 0 and not errors, errors


def java_of(data: Path) -> int:
    return int((data / "broker" / "broker.pid").read_text())


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_a_librdkafka_idempotent_producer_and_phoenix_request_use_it_and_it_keeps_their_messages(
    tmp_path: Path,
) -> None:
    port, data = free_port(), tmp_path / "data"
    kafka = Broker(f"127.0.0.1:{port}").settings()
    process = start_broker(port, data)
    try:
        produce_idempotently(kafka.bootstrap_servers, kafka.topic("independent"), [b"one", b"two", b"three"])
        env = {**os.environ, "PHOENIX_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
               "PHOENIX_KAFKA_TOPIC_PREFIX": kafka.topic_prefix}
        published = subprocess.run([PHOENIX, "request", "UVES_ECHELLE", "2015-02-23", "--mode", "MCALIB"], env=env,
                                   capture_output=True, text=True, timeout=60)
        assert published.returncode == 0, published.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert (data / "broker" / "log" / "meta.properties").is_file(), "the message log lives under the data folder"

    process = start_broker(port, data)
    try:
        requests = await read_topic(kafka, "date-requested", expected=1)
        assert requests[0]["correlation_id"] == published.stdout.strip(), "messages survive a restart"
        java = java_of(data)
        process.kill()  # SIGKILL: no chance to stop the broker itself
        process.wait(timeout=10)
        deadline = time.monotonic() + 30
        while alive(java) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(java), "the broker's JVM dies with the command that started it"
    finally:
        if process.poll() is None:
            process.kill()
