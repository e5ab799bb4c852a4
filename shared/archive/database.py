"""`ArchiveDatabase`: the one way services reach the archive database."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Concatenate, ParamSpec, Self, TypeVar

from sqlalchemy import exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.archive.engine import create_engine
from shared.archive.settings import DatabaseSettings, with_async_driver
from shared.errors import TransientError

P = ParamSpec("P")
T = TypeVar("T")


class ArchiveDatabase:
    """An engine and its sessions. Build one per process at start-up, close it on shutdown.

    `async with db.session() as s:` is one transaction: committed when the block ends,
    rolled back on an exception. A database that cannot be reached, or a lock or
    serialisation conflict, surfaces as `TransientError`, so the bus runtime retries it.
    """

    def __init__(self, url: str) -> None:
        self.url = with_async_driver(url)
        self.engine = create_engine(self.url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> Self:
        return cls(settings.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"ArchiveDatabase({make_url(self.url).render_as_string(hide_password=True)!r})"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._sessions.begin() as session:
                yield session
        except (exc.DBAPIError, exc.TimeoutError) as error:
            raise as_transient(error) from error

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()


async def read(
    session: AsyncSession, reader: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run a Core reader (a synchronous function of a `Connection`, e.g. `shared.campaigns`'s) in
    the session's transaction."""
    return await session.run_sync(lambda sync_session: reader(sync_session.connection(), *args, **kwargs))


def as_transient(error: exc.DBAPIError | exc.TimeoutError) -> Exception:
    """`TransientError` for failures that may pass when retried; the error itself otherwise."""
    if is_transient(error):
        return TransientError(f"archive database unavailable: {getattr(error, 'orig', None) or error}")
    return error


def is_transient(error: exc.SQLAlchemyError) -> bool:
    if isinstance(error, exc.TimeoutError):
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.Error):
        # "database is locked" / "busy" pass; "no such table" and the like do not
        return isinstance(error, exc.OperationalError) and any(
            word in str(error.orig).lower() for word in ("locked", "busy")
        )
    # psycopg: connection refused or lost, admin shutdown, serialisation failure, deadlock
    return isinstance(error, exc.OperationalError | exc.InterfaceError)
