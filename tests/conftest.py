"""Shared fixtures: real brokers (embedded Tansu and Apache Kafka), PostgreSQL."""

from __future__ import annotations

import pytest

from shared.bus.embedded import EmbeddedBroker
from tests.support.bus import Broker

pytest_plugins = ["tests.support.fixtures", "tests.support.nights"]

BROKER_KINDS = ["embedded", "apache"]


@pytest.fixture(scope="session")
def embedded_broker(tmp_path_factory: pytest.TempPathFactory):
    log_file = tmp_path_factory.mktemp("tansu") / "broker.log"
    with EmbeddedBroker(log_file=log_file) as broker:
        yield Broker("embedded", broker.bootstrap_servers)


@pytest.fixture(params=BROKER_KINDS)
def broker(request: pytest.FixtureRequest) -> Broker:
    """Each test using it runs once on the embedded broker and once on Apache Kafka."""
    if request.param == "embedded":
        return request.getfixturevalue("embedded_broker")
    return Broker("apache", request.getfixturevalue("apache_kafka"))
