"""A seeded portal served over real HTTP on 127.0.0.1, on SQLite and on PostgreSQL.

The database, app and seeding fixtures are the portal integration tests' own (imported, not
copied); this adds tokens of every kind, files outside the archive that must never be served,
and helpers that send exact bytes (no client-side URL normalisation) and look for leaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from services.portal.service import create_app
from services.portal.settings import PortalSettings
from shared.archive import ArchiveDatabase
from shared.archive.models import Scope
from shared.archive.tokens import create_token, revoke_token
from shared.archive.types import utc_now
from shared.serving import serve_in_background
from shared.storage import FileStore
from tests.integration.portal.conftest import (  # noqa: F401 - fixtures reused from the portal tests
    app,
    archive_store,
    data_dir,
    database_url,
    db,
    settings,
)
from tests.integration.portal.seed import Spectrum, add_release, add_spectrum, product_id, seed_night

REPO_ROOT = Path(__file__).resolve().parents[2]
FITS_CARD = b"SIMPLE  ="
SECRET_MARKER = b"SECRET-OUTSIDE-THE-ARCHIVE"
# Bytes that must never reach a client: product or secret files, the SQLite file, system files,
# source code, stack traces and database driver internals.
LEAK_MARKERS = (
    FITS_CARD, SECRET_MARKER, b"SQLite format 3", b"root:x:0:0", b"from __future__", b"Traceback",
    b'File "', b"site-packages", b"sqlalchemy", b"psycopg", b"aiosqlite", b"OperationalError",
    b"ProgrammingError",
)
PRODUCTS = 3


@dataclass(frozen=True)
class Tokens:
    read: str
    download: str
    submit: str
    admin: str
    expired: str
    revoked: str
    read_download: str

    @staticmethod
    def header(secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}


@dataclass(frozen=True)
class ServedPortal:
    url: str
    host: str
    port: int
    db: ArchiveDatabase
    data_dir: Path
    tokens: Tokens
    product_ids: tuple[str, ...]
    ab_ids: tuple[str, ...]

    @property
    def product(self) -> str:
        return self.product_ids[0]

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30, **kwargs)

    async def row_counts(self) -> dict[str, int]:
        """Rows in every table of the archive database."""
        async with self.db.session() as session:
            connection = await session.connection()
            tables = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            return {t: (await session.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"'))).scalar_one() for t in tables}

    def assert_nothing_leaked(self, body: bytes | str, headers: httpx.Headers | dict[str, str] | None = None,
                              context: object = "") -> None:
        """No file content, no server path, no stack trace in a refused request's body or headers."""
        found = self.leaks(body, headers)
        assert not found, f"{context}: {found[0]}"

    def leaks(self, body: bytes | str, headers: httpx.Headers | dict[str, str] | None = None) -> list[str]:
        data = body.encode() if isinstance(body, str) else body
        texts = [data]
        if headers is not None:
            texts.append("\n".join(f"{k}: {v}" for k, v in headers.items()).encode())
        paths = {str(self.data_dir), str(self.data_dir.parent), str(REPO_ROOT)}
        found = []
        for text in texts:
            found += [f"{marker!r} leaked: {text[:300]!r}" for marker in LEAK_MARKERS if marker in text]
            found += [f"server path {path} leaked: {text[:300]!r}" for path in paths if path.encode() in text]
        return found


async def _tokens(database: ArchiveDatabase) -> Tokens:
    async with database.session() as session:
        secrets = {}
        for name, scopes in (("read", [Scope.READ]), ("download", [Scope.DOWNLOAD]), ("submit", [Scope.SUBMIT]),
                             ("admin", [Scope.ADMIN]), ("read_download", [Scope.READ, Scope.DOWNLOAD])):
            _, secrets[name] = await create_token(session, f"security-{name}", scopes)
        _, secrets["expired"] = await create_token(session, "security-expired", list(Scope),
                                                   expires_at=utc_now() - timedelta(seconds=1))
        revoked, secrets["revoked"] = await create_token(session, "security-revoked", list(Scope))
        assert await revoke_token(session, revoked.token_id)
    return Tokens(**secrets)


async def seed_portal(database: ArchiveDatabase, root: FileStore, folder: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Products (with previews) in the archive `root`, a processed night, and secret files in and
    above the data `folder`; the product ids and AB ids."""
    await add_release(database)
    ids = tuple(product_id(i) for i in range(1, PRODUCTS + 1))
    for i, pid in enumerate(ids):
        # The first product's processing log names server folders, as esorex's do.
        log = f"[ INFO  ] esorex: loading {folder}/work/ab-1/UVES.2024-03-01T23:00:00.000.fits\n" if i == 0 else None
        await add_spectrum(database, root, Spectrum(pid, 10.0 + i, -20.0, log=log))
    ab_ids = tuple(await seed_night(database))
    # Files beside and above the archive that traversal must never reach.
    (folder / "secret.fits").write_bytes(FITS_CARD + b" T / " + SECRET_MARKER)
    (folder.parent / "secret.txt").write_bytes(SECRET_MARKER)
    (folder / "store").mkdir(exist_ok=True)
    return ids, ab_ids


async def _serve(portal_app: FastAPI, database: ArchiveDatabase, folder: Path, ids, ab_ids) -> AsyncIterator[ServedPortal]:
    tokens = await _tokens(database)
    async with serve_in_background(portal_app) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        yield ServedPortal(url, host, int(port), database, folder, tokens, ids, ab_ids)


@pytest.fixture
async def portal(app: FastAPI, db: ArchiveDatabase, archive_store: FileStore, data_dir: Path) -> AsyncIterator[ServedPortal]:  # noqa: F811
    """The default portal (public read) with seeded products, a night, and tokens, over real HTTP."""
    ids, ab_ids = await seed_portal(db, archive_store, data_dir)
    async for served in _serve(app, db, data_dir, ids, ab_ids):
        yield served


@pytest.fixture
async def private_portal(settings: PortalSettings, db: ArchiveDatabase, archive_store: FileStore,  # noqa: F811
                         data_dir: Path) -> AsyncIterator[ServedPortal]:  # noqa: F811
    """The same with PHOENIX_PORTAL_PUBLIC_READ=false: reading needs a read token too."""
    ids, ab_ids = await seed_portal(db, archive_store, data_dir)
    private = create_app(settings.model_copy(update={"public_read": False}))
    async for served in _serve(private, db, data_dir, ids, ab_ids):
        yield served


@dataclass(frozen=True)
class RawResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes
    body_bytes_sent: int = 0


async def raw_request(portal: ServedPortal, target: str, *, method: str = "GET", headers: dict[str, str] | None = None,
                      body: bytes | Iterable[bytes] = b"", timeout: float = 30, host: str | None = None) -> RawResponse:
    """One HTTP/1.1 request with exactly this request target (bytes as given, nothing normalised).

    The request is written while the answer is read, on a plain socket (asyncio's streams drop
    what was received once the peer resets), so a server that refuses early and closes the
    connection is still heard. An iterable body is sent chunked.
    """
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host or f'{portal.host}:{portal.port}'}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if isinstance(body, bytes) and body:
        lines.append(f"Content-Length: {len(body)}")
    elif not isinstance(body, bytes):
        lines.append("Transfer-Encoding: chunked")
    head = "\r\n".join(lines).encode("latin-1", "surrogateescape") + b"\r\n\r\n"
    return await asyncio.to_thread(_exchange, (portal.host, portal.port), head, body, timeout)


def _exchange(address: tuple[str, int], head: bytes, body: bytes | Iterable[bytes], timeout: float) -> RawResponse:
    sent = 0
    with socket.create_connection(address, timeout=timeout) as sock:

        def send() -> None:
            nonlocal sent
            try:
                sock.sendall(head)
                if isinstance(body, bytes):
                    for start in range(0, len(body), 64 * 1024):
                        piece = body[start:start + 64 * 1024]
                        sock.sendall(piece)
                        sent += len(piece)
                else:
                    for chunk in body:
                        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        sent += len(chunk)
                    sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # refused early: the answer is read below

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        received = bytearray()
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionError:
            if not received:
                raise
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # unblocks a sender the server stopped reading
        sender.join(timeout)
    response = parse_response(bytes(received))
    return RawResponse(response.status_code, response.headers, response.body, sent)


def parse_response(data: bytes) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), headers, body)
