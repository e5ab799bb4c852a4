"""Shared fixtures: a real Apache Kafka (KRaft), PostgreSQL, simulated nights."""

from __future__ import annotations

import pytest

from tests.support.bus import Broker

pytest_plugins = ["tests.support.fixtures", "tests.support.nights"]


@pytest.fixture
def broker(apache_kafka: str) -> Broker:
    """The session's Apache Kafka; each test isolates itself with a topic prefix of its own."""
    return Broker(apache_kafka)
