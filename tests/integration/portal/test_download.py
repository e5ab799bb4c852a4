"""Authenticated downloads: tokens and scopes, checksums, ancillary files, and nothing outside the archive."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from shared.archive import ArchiveDatabase
from shared.archive.models import Product, Scope
from shared.archive.tokens import create_token
from shared.archive.types import utc_now
from shared.serving import serve_in_background
from shared.storage import FileStore
from tests.integration.portal.seed import Spectrum, add_release, add_spectrum, product_id

CONTENT = b"SIMPLE  =                    T / a product".ljust(2880 * 3, b" ")


async def token(db: ArchiveDatabase, *scopes: Scope, expires_in: timedelta | None = None) -> dict[str, str]:
    async with db.session() as session:
        _, secret = await create_token(session, "test", scopes,
                                       expires_at=utc_now() + expires_in if expires_in is not None else None)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def product(db: ArchiveDatabase, archive_store: FileStore) -> str:
    await add_release(db)
    await add_spectrum(db, archive_store, Spectrum(product_id(1), 10.0, -20.0, content=CONTENT))
    return product_id(1)


async def test_download_with_a_download_token_matches_the_catalogue_checksum(client, db, product) -> None:
    response = await client.get(f"/api/products/{product}/file", headers=await token(db, Scope.DOWNLOAD))
    assert response.status_code == 200
    catalogued = (await client.get(f"/api/products/{product}")).json()
    digest = hashlib.sha256(response.content).hexdigest()
    assert digest == catalogued["sha256"] == response.headers["x-checksum-sha256"]
    assert response.headers["etag"] == f'"{digest}"'
    assert int(response.headers["content-length"]) == len(CONTENT) == catalogued["file_size_bytes"]
    assert response.headers["content-type"] == "application/fits"


async def test_admin_grants_download(client, db, product) -> None:
    response = await client.get(f"/api/products/{product}/file", headers=await token(db, Scope.ADMIN))
    assert response.status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer phx_not-a-token"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer"}])
async def test_missing_or_wrong_tokens_are_401(client, product, headers) -> None:
    response = await client.get(f"/api/products/{product}/file", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"]


async def test_expired_token_is_401_and_a_read_token_is_403(client, db, product) -> None:
    expired = await token(db, Scope.DOWNLOAD, expires_in=timedelta(seconds=-1))
    assert (await client.get(f"/api/products/{product}/file", headers=expired)).status_code == 401
    read_only = await client.get(f"/api/products/{product}/file", headers=await token(db, Scope.READ))
    assert read_only.status_code == 403 and "download" in read_only.json()["detail"]


async def test_search_is_public_but_a_bad_token_is_still_refused(client, product) -> None:
    assert (await client.get("/api/products")).status_code == 200
    refused = await client.get("/api/products", headers={"Authorization": "Bearer phx_wrong"})
    assert refused.status_code == 401


async def test_unknown_products_and_files_are_404(client, db, product) -> None:
    headers = await token(db, Scope.DOWNLOAD)
    assert (await client.get("/api/products/PHX.2099-01-01T00:00:00.000.1")).status_code == 404
    assert (await client.get("/api/products/PHX.2099-01-01T00:00:00.000.1/file", headers=headers)).status_code == 404
    assert (await client.get(f"/api/products/{product}/files/nothing.png")).status_code == 404


TRAVERSALS = [
    "/api/products/..%2F..%2Fphoenix.db/file",
    "/api/products/..%2f..%2fetc%2fpasswd/file",
    "/api/products/%2Fetc%2Fpasswd/file",
    "/api/products/%252e%252e%252fphoenix.db/file",
    "/api/products/../../phoenix.db",
    "/api/products/..",
    "/api/products/PHX.1/files/..%2F..%2Fphoenix.db",
    "/api/products/PHX.1/files/%2Fetc%2Fpasswd",
    "/api/products/PHX.2026-11-24T18:00:00.000.1/files/..%2F..%2Fphoenix.db",
    "/api/products/PHX.2026-11-24T18:00:00.000.1/files/%2e%2e%2fphoenix.db",
    "/history/ab/..%2F..%2Fphoenix.db/qc-report",
]


@pytest.mark.parametrize("path", TRAVERSALS)
async def test_path_traversal_is_404(client, db, product, path) -> None:
    response = await client.get(path, headers=await token(db, Scope.ADMIN))
    assert response.status_code == 404, (path, response.status_code, response.text[:200])


async def test_a_catalogue_row_pointing_outside_the_archive_is_never_served(client, db, data_dir, product) -> None:
    secret_file = data_dir.parent / "secret.fits"
    secret_file.write_bytes(CONTENT)
    for uri in (f"file://{secret_file}", "archive:../secret.fits", "store:../../secret.fits", str(secret_file)):
        async with db.session() as session:
            await session.execute(update(Product).where(Product.product_id == product).values(access_uri=uri))
        response = await client.get(f"/api/products/{product}/file", headers=await token(db, Scope.DOWNLOAD))
        assert response.status_code == 404, uri


async def test_download_over_real_http(app, db, product) -> None:
    headers = await token(db, Scope.DOWNLOAD)
    async with serve_in_background(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            response = await http.get(f"/api/products/{product}/file", headers=headers)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == response.headers["x-checksum-sha256"]
