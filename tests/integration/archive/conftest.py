"""Every archive test runs twice: on a SQLite file and on PostgreSQL (a fresh database each)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date

import psycopg
import pytest
from sqlalchemy.engine import make_url

from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.settings import sqlite_url
from shared.contracts import AssociationBlock, ProcessingMode, RawFrame

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL of an empty database of each kind."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "phoenix.db")
        return
    yield from throwaway_postgres_database(request.getfixturevalue("postgres_url"))


def throwaway_postgres_database(server_url: str) -> Iterator[str]:
    server = make_url(server_url)
    name = f"archive_test_{uuid.uuid4().hex[:12]}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[ArchiveDatabase]:
    """An archive database at the newest schema."""
    await upgrade_to_head(database_url)
    database = ArchiveDatabase(database_url)
    yield database
    await database.close()


def make_ab(
    ab_id: str = "UVES_ECHELLE.2024-03-01.BIAS_BLUE.0001",
    *,
    night: date = date(2024, 3, 1),
    raw_type: str = "BIAS_BLUE",
    dpr_catg: str = "CALIB",
    instrument_mode: str = "UVES_ECHELLE",
    depends_on: tuple[str, ...] = (),
    match_key: dict[str, str] | None = None,
) -> AssociationBlock:
    return AssociationBlock(
        ab_id=ab_id,
        ab_name=f"{ab_id}.ab",
        instrument="UVES",
        instrument_mode=instrument_mode,
        night=night,
        mode=ProcessingMode.IDP if dpr_catg == "SCIENCE" else ProcessingMode.MCALIB,
        dpr_catg=dpr_catg,
        raw_type=raw_type,
        recipe="uves_cal_mbias",
        mjd_obs=60370.9,
        mjd_obs_mod=60370.9,
        raw_match_key=match_key if match_key is not None else {"DET.WIN1.BINX": "1"},
        raw_files=[RawFrame(arcfile=f"{ab_id}.fits", category=raw_type, mjd_obs=60370.9)],
        depends_on=list(depends_on),
    )
