"""A database that cannot be reached is a TransientError (the runtime retries); a dropped
connection is replaced without failing anyone."""

from __future__ import annotations

import asyncio
import socket

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.models import Release
from shared.errors import TransientError
from tests.integration.archive.conftest import throwaway_postgres_database


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


UNREACHABLE = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/phoenix?connect_timeout=2"


async def test_an_unreachable_server_is_transient() -> None:
    database = ArchiveDatabase(UNREACHABLE)
    try:
        with pytest.raises(TransientError, match="unavailable"):
            async with database.session() as s:
                await s.execute(select(Release))
    finally:
        await database.close()


async def test_upgrading_an_unreachable_server_is_transient() -> None:
    with pytest.raises(TransientError):
        await upgrade_to_head(UNREACHABLE)


async def test_a_missing_table_is_not_transient(tmp_path) -> None:
    database = ArchiveDatabase(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(Exception) as raised:
            async with database.session() as s:
                await s.execute(select(Release))
    finally:
        await database.close()
    assert not isinstance(raised.value, TransientError)


@pytest.mark.postgres
async def test_connections_dropped_by_the_server_are_replaced(postgres_url: str) -> None:
    for url in throwaway_postgres_database(postgres_url):
        await upgrade_to_head(url)
        database = ArchiveDatabase(url)
        try:
            async with database.session() as s:
                await s.execute(select(Release))
            name = make_url(url).database
            admin = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(False)
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                )
            async with database.session() as s:
                assert (await s.execute(text("SELECT 1"))).scalar_one() == 1
        finally:
            await database.close()


@pytest.mark.postgres
async def test_a_stopped_server_is_transient_and_a_restarted_one_serves_again(postgres_factory) -> None:
    server = postgres_factory()
    await upgrade_to_head(server.url)
    database = ArchiveDatabase(server.url)
    try:
        async with database.session() as s:
            await s.execute(select(Release))
        await asyncio.to_thread(server.stop)
        with pytest.raises(TransientError):
            async with database.session() as s:
                await s.execute(select(Release))
        await asyncio.to_thread(server.start)
        async with database.session() as s:
            assert (await s.execute(select(Release))).all() == []
    finally:
        await database.close()
