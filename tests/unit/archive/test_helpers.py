"""Settings, URL drivers, transient-error classification, product identity, tokens."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import exc

from shared.archive.catalogue import Provenance, lineage_key, make_product_id
from shared.archive.database import as_transient, is_transient
from shared.archive.models import ApiToken, ProvenanceKind, Scope
from shared.archive.qc1 import setting_key_of
from shared.archive.settings import DatabaseSettings, with_async_driver
from shared.archive.tokens import grants, hash_secret, is_usable
from shared.archive.types import UtcDateTime
from shared.errors import TransientError

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def test_the_default_database_is_sqlite_under_the_data_dir(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("PHOENIX_DATABASE_URL", raising=False)
    monkeypatch.setenv("PHOENIX_DATA_DIR", str(tmp_path))
    assert DatabaseSettings().url == f"sqlite+aiosqlite:///{tmp_path}/phoenix.db"


def test_the_url_comes_from_the_environment_with_the_async_driver(monkeypatch) -> None:
    monkeypatch.setenv("PHOENIX_DATABASE_URL", "postgresql://phoenix:secret@db:5432/phoenix")
    assert DatabaseSettings().url == "postgresql+psycopg://phoenix:secret@db:5432/phoenix"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/phoenix.db", "sqlite+aiosqlite:///data/phoenix.db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_async_drivers(url: str, expected: str) -> None:
    assert with_async_driver(url) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_databases(url: str) -> None:
    with pytest.raises(ValueError):
        with_async_driver(url)


def wrapped(error_class: type[exc.DBAPIError], original: Exception, invalidated: bool = False) -> exc.DBAPIError:
    return error_class("SELECT 1", {}, original, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (wrapped(exc.OperationalError, psycopg.OperationalError("connection refused")), True),
        (wrapped(exc.OperationalError, psycopg.errors.AdminShutdown("terminating connection")), True),
        (wrapped(exc.InterfaceError, psycopg.InterfaceError("connection is closed")), True),
        (wrapped(exc.ProgrammingError, psycopg.ProgrammingError("x"), invalidated=True), True),
        (wrapped(exc.OperationalError, sqlite3.OperationalError("database is locked")), True),
        (wrapped(exc.OperationalError, sqlite3.OperationalError("no such table: products")), False),
        (wrapped(exc.IntegrityError, psycopg.IntegrityError("duplicate key")), False),
        (wrapped(exc.ProgrammingError, psycopg.ProgrammingError("syntax error")), False),
        (exc.TimeoutError("QueuePool limit reached"), True),
    ],
)
def test_which_database_errors_are_transient(error: exc.SQLAlchemyError, transient: bool) -> None:
    assert is_transient(error) is transient
    assert isinstance(as_transient(error), TransientError) is transient


def test_product_ids_carry_a_utc_millisecond_timestamp() -> None:
    at = datetime(2026, 11, 24, 20, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert make_product_id(at, 3) == "PHX.2026-11-24T19:00:00.123.3"


def test_the_lineage_depends_on_raw_inputs_only() -> None:
    raw_a = Provenance(ProvenanceKind.RAW, "a.fits", "1" * 64)
    raw_b = Provenance(ProvenanceKind.RAW, "b.fits", "2" * 64)
    master = Provenance(ProvenanceKind.MCALIB, "mb.fits", "3" * 64)
    key = lineage_key("AB", "SCIENCE.SPECTRUM", "BLUE", [raw_a, raw_b])
    assert lineage_key("AB", "SCIENCE.SPECTRUM", "BLUE", [master, raw_b, raw_a]) == key
    assert lineage_key("AB", "SCIENCE.SPECTRUM", "REDL", [raw_a, raw_b]) != key
    assert lineage_key("AB", "SCIENCE.SPECTRUM", "BLUE", [raw_a]) != key
    assert lineage_key("AB2", "SCIENCE.SPECTRUM", "BLUE", [raw_a, raw_b]) != key


def test_setting_keys_are_sorted() -> None:
    assert setting_key_of({"INS.GRAT1.WLEN": "390", "DET.WIN1.BINX": "2"}) == "DET.WIN1.BINX=2,INS.GRAT1.WLEN=390"
    assert setting_key_of({}) == ""


def token(scopes: list[str], expires_at: datetime | None = None, revoked_at: datetime | None = None) -> ApiToken:
    return ApiToken(name="t", token_hash=hash_secret("s"), scopes=scopes, expires_at=expires_at, revoked_at=revoked_at)


def test_token_usability() -> None:
    assert is_usable(token(["read"]), NOW)
    assert not is_usable(token(["read"], expires_at=NOW), NOW)
    assert is_usable(token(["read"], expires_at=NOW + timedelta(seconds=1)), NOW)
    assert not is_usable(token(["read"], revoked_at=NOW + timedelta(days=1)), NOW)


def test_token_scopes() -> None:
    assert grants(token(["read"]), Scope.READ)
    assert not grants(token(["read"]), Scope.DOWNLOAD)
    assert all(grants(token(["admin"]), scope) for scope in Scope)


def test_timestamps_must_be_timezone_aware() -> None:
    column_type = UtcDateTime()
    with pytest.raises(ValueError, match="naive"):
        column_type.process_bind_param(datetime(2026, 1, 1), None)  # type: ignore[arg-type]
    local = datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert column_type.process_bind_param(local, None) == datetime(2026, 1, 1, tzinfo=UTC)  # type: ignore[arg-type]
    assert column_type.process_result_value(datetime(2026, 1, 1), None).tzinfo == UTC  # type: ignore[arg-type, union-attr]
