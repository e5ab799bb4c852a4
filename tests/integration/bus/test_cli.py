"""The command-line contract of the backbone, run as real processes."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.processes import PHOENIX
from tools.broker.kafka import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def phoenix(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PHOENIX, *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)


def test_service_without_a_broker_setting_names_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    result = subprocess.run([PHOENIX, "service", "fetcher"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "PHOENIX_KAFKA_BOOTSTRAP_SERVERS" in result.stderr


@pytest.mark.parametrize("service", ["fetcher", "ingestor"])
def test_a_missing_service_setting_stops_it_before_topics_or_ports(service: str, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    # A broker address nothing listens on: the service must stop before it tries to reach it.
    env |= {"PHOENIX_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "PHOENIX_DATA_DIR": str(tmp_path)}
    result = subprocess.run([PHOENIX, "service", service], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "invalid settings: PHOENIX_ARCHIVE_URL: Field required (set it to: archive: a folder" in line
    assert not (tmp_path / "phoenix.db").exists(), "no migration ran"


def test_unknown_service_is_refused() -> None:
    result = phoenix("service", "nope", env={"PHOENIX_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert result.returncode == 2
    assert "unknown service 'nope'" in result.stderr and "fetcher" in result.stderr


def test_unreachable_broker_gives_up_after_bounded_attempts() -> None:
    env = {"PHOENIX_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "PHOENIX_CONNECT_ATTEMPTS": "2"}
    result = phoenix("service", "qc", env=env)
    assert result.returncode == 1
    assert "attempt 1 of 2" in result.stderr and "cannot reach Kafka" in result.stderr


def test_an_invalid_request_is_refused_before_publishing() -> None:
    result = phoenix("request", "uves", "2015-02-23", env={"PHOENIX_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert result.returncode == 2
    assert "invalid request" in result.stderr
