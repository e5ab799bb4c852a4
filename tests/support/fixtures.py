"""pytest fixtures for the real parts: Apache Kafka (KRaft) and PostgreSQL.

A missing part fails the test that needs it, with what to run: the suite never skips one
silently (CI runs `make setup` first, so a skip would hide a broken set-up).

- `apache_kafka`: bootstrap string of a session-wide broker; `PHOENIX_TEST_KAFKA=host:port`
  uses that cluster instead of starting one.
- `apache_kafka_server`: the session-wide `ApacheKafka` itself (always started here).
- `apache_kafka_factory`: starts private brokers (for tests that stop, kill or restart one,
  or need SASL); all are stopped after the test.
- `postgres_url`: SQLAlchemy URL of a session-wide database; `PHOENIX_TEST_DATABASE_URL`
  uses that database instead of starting a server.
- `postgres_server` / `postgres_factory`: the same for PostgreSQL.
- `s3proxy`: a session-wide real S3 server (s3proxy, file-system backend) with a `phoenix` bucket;
  `s3_store_environment`: the variables that point a service at a fresh prefix of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConfigError
from tests.support.apache_kafka import ApacheKafka, SaslUser
from tests.support.postgres import PostgresNotInstalled, PostgresServer
from tests.support.s3proxy import S3Proxy, S3ProxyNotInstalled

S3_BUCKET = "phoenix"

KafkaFactory = Callable[..., ApacheKafka]
PostgresFactory = Callable[[], PostgresServer]


def _started_apache_kafka(work_dir: Path, sasl_users: tuple[SaslUser, ...] = ()) -> ApacheKafka:
    kafka = ApacheKafka(work_dir, sasl_users=sasl_users)
    try:
        return kafka.start()
    except ConfigError as error:  # no java or no jars: say what to run
        kafka.stop()
        pytest.fail(str(error), pytrace=False)


def _new_postgres() -> PostgresServer:
    try:
        return PostgresServer()
    except PostgresNotInstalled as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def apache_kafka_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    kafka = _started_apache_kafka(tmp_path_factory.mktemp("apache-kafka"))
    try:
        yield kafka
    finally:
        kafka.stop()


def _existing_or_session_server(request: pytest.FixtureRequest, variable: str, fixture: str,
                                address: Callable[[Any], str]) -> str:
    """The existing server the environment `variable` names, else `address` of the session's `fixture`
    (started only when first asked for)."""
    return os.environ.get(variable) or address(request.getfixturevalue(fixture))


@pytest.fixture(scope="session")
def apache_kafka(request: pytest.FixtureRequest) -> str:
    """Bootstrap servers of a real Apache Kafka cluster."""
    return _existing_or_session_server(request, "PHOENIX_TEST_KAFKA", "apache_kafka_server",
                                       lambda kafka: kafka.bootstrap_servers)


@pytest.fixture
def apache_kafka_factory(tmp_path: Path) -> Iterator[KafkaFactory]:
    """`factory(sasl_users=(SaslUser(...),))` returns a started private broker."""
    started: list[ApacheKafka] = []

    def start(sasl_users: tuple[SaslUser, ...] = ()) -> ApacheKafka:
        kafka = _started_apache_kafka(tmp_path / f"apache-kafka-{len(started)}", sasl_users)
        started.append(kafka)
        return kafka

    try:
        yield start
    finally:
        for kafka in started:
            kafka.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = _new_postgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """SQLAlchemy URL (postgresql+psycopg) of a real PostgreSQL database."""
    return _existing_or_session_server(request, "PHOENIX_TEST_DATABASE_URL", "postgres_server",
                                       lambda server: server.url)


@pytest.fixture
def postgres_factory() -> Iterator[PostgresFactory]:
    """`factory()` returns a started private PostgreSQL server, removed after the test."""
    started: list[PostgresServer] = []

    def start() -> PostgresServer:
        server = _new_postgres()
        started.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.close()


def new_s3proxy(work_dir: Path, **options: object) -> S3Proxy:
    try:
        server = S3Proxy(work_dir, **options)  # type: ignore[arg-type]
    except S3ProxyNotInstalled as error:
        pytest.fail(str(error), pytrace=False)
    server.create_bucket(S3_BUCKET)
    return server


@pytest.fixture(scope="session")
def s3proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Proxy]:
    server = new_s3proxy(tmp_path_factory.mktemp("s3proxy"))
    with server:
        yield server


@pytest.fixture
def s3_store_environment(s3proxy: S3Proxy, request: pytest.FixtureRequest) -> dict[str, str]:
    """PHOENIX_STORE_URL and the AWS variables of a prefix of the bucket no other test uses."""
    return s3proxy.environment(S3_BUCKET, prefix=f"t{abs(hash(request.node.nodeid)):x}")
