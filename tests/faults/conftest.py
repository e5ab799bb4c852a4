"""Fixtures of the fault suite: the blue-arm small night (tests/support/nights.py), its archive server,
a database per test, a chain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path

import pytest

from tests.faults.harness import (
    REPORTS,
    ArchiveServer,
    Chain,
    fresh_postgres_database,
    running_chain,
)
from tests.support.postgres import PostgresServer

NIGHT = date(2024, 3, 1)

ChainFactory = Callable[..., AbstractContextManager[Chain]]


@pytest.fixture
def fault_archive(blue_archive: Path) -> Path:
    """The archive the chain reads: this test's own copy of the blue night (the ingestor fills its
    calibration store); a scenario that damages the night overrides it."""
    return blue_archive


@pytest.fixture
def archive_server(fault_archive: Path, tmp_path: Path) -> Iterator[ArchiveServer]:
    server = ArchiveServer(fault_archive, tmp_path / "logs")
    try:
        yield server
    finally:
        server.stop()


def database_on(server: PostgresServer) -> str:
    return fresh_postgres_database(
        server._conninfo,  # noqa: SLF001 - the server's own connection string builder
        lambda name: f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{name}",
    )


@pytest.fixture
def fault_database(postgres_server: PostgresServer) -> str:
    """A fresh database of its own on the session's PostgreSQL server."""
    return database_on(postgres_server)


@pytest.fixture
def chain_factory(apache_kafka: str, fault_database: str, archive_server: ArchiveServer, tmp_path: Path) -> ChainFactory:
    """`with chain_factory() as chain:` a chain on the session's Apache Kafka (topics and groups of its own)."""

    def make(bootstrap_servers: str | None = None, database_url: str | None = None, archive_url: str | None = None,
             extra_env: dict[str, str] | None = None) -> AbstractContextManager[Chain]:
        return running_chain(bootstrap_servers or apache_kafka, database_url or fault_database,
                             archive_url or archive_server.url, tmp_path, extra_env)

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORTS:
        terminalreporter.section("fault suite: invariant counts")
        for line in REPORTS:
            terminalreporter.write_line(line)
