"""The client against misbehaving servers (real HTTP on 127.0.0.1): retries, timeouts, corrupted bytes."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Response

from shared.errors import TransientError
from shared.serving import serve_in_background
from tests.support.rawarchive import quick_retry_client

ARCFILE = "UVES.2024-03-01T21:00:00.000.fits"
CONTENT = bytes(range(256)) * 40
HANG_SECONDS = 5.0


def _fault_app(counts: dict[str, int]) -> FastAPI:
    app = FastAPI()

    @app.get("/api/raw")
    def flaky_listing() -> Response:
        counts["listing"] = counts.get("listing", 0) + 1
        if counts["listing"] <= 2:
            return Response("boom", status_code=500)
        return Response("[]", media_type="application/json")

    @app.get("/api/calib")
    async def slow_or_hanging_listing(pro_catg: str | None = None) -> Response:
        if pro_catg == "SLOW":
            counts["active"] = counts.get("active", 0) + 1
            counts["most_active"] = max(counts.get("most_active", 0), counts["active"])
            await asyncio.sleep(0.2)
            counts["active"] -= 1
        else:
            counts["hang"] = counts.get("hang", 0) + 1
            await asyncio.sleep(HANG_SECONDS)
        return Response("[]", media_type="application/json")

    @app.get("/api/raw/{arcfile}")
    def corrupted_download(arcfile: str) -> Response:
        counts["download"] = counts.get("download", 0) + 1
        corrupted = bytearray(CONTENT)
        corrupted[100] ^= 0xFF
        return Response(
            bytes(corrupted), media_type="application/fits",
            headers={"X-Checksum-SHA256": hashlib.sha256(CONTENT).hexdigest()},
        )

    return app


@pytest.fixture
async def faulty_url(counts: dict[str, int]) -> AsyncIterator[str]:
    async with serve_in_background(_fault_app(counts)) as url:
        yield url


async def test_server_errors_are_retried_until_success(faulty_url: str, counts: dict[str, int]) -> None:
    async with quick_retry_client(faulty_url) as client:
        assert await client.list_raw("UVES", "2024-03-01") == []
    assert counts["listing"] == 3


async def test_persistent_server_errors_become_transient_errors(faulty_url: str, counts: dict[str, int]) -> None:
    async with quick_retry_client(faulty_url, max_attempts=2) as client:
        with pytest.raises(TransientError, match=r"GET http://127\.0\.0\.1:\d+/api/raw.*2 attempts.*HTTP 500"):
            await client.list_raw("UVES", "2024-03-01")
    assert counts["listing"] == 2


async def test_a_hanging_server_times_out(faulty_url: str, counts: dict[str, int]) -> None:
    started = time.monotonic()
    async with quick_retry_client(faulty_url, timeout_seconds=0.3, max_attempts=2) as client:
        with pytest.raises(TransientError, match="ReadTimeout"):
            await client.list_calib("UVES")
    assert time.monotonic() - started < HANG_SECONDS
    assert counts["hang"] == 2


async def test_a_corrupted_download_is_retried_then_fails_leaving_nothing(
    faulty_url: str, counts: dict[str, int], tmp_path: Path
) -> None:
    destination = tmp_path / "staged" / ARCFILE
    async with quick_retry_client(faulty_url) as client:
        with pytest.raises(TransientError, match="SHA-256 mismatch"):
            await client.download(ARCFILE, destination)

    assert counts["download"] == 3
    assert list(destination.parent.iterdir()) == []


async def test_a_refused_connection_is_retried_then_transient(tmp_path: Path) -> None:
    with socket.socket() as reserved:  # bound but never listening: connections are refused
        reserved.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{reserved.getsockname()[1]}"
        async with quick_retry_client(url, max_attempts=2) as client:
            with pytest.raises(TransientError, match="ConnectError"):
                await client.list_raw("UVES", "2024-03-01")


async def test_concurrency_is_bounded(faulty_url: str, counts: dict[str, int]) -> None:
    async with quick_retry_client(faulty_url, max_concurrency=2) as client:
        results = await asyncio.gather(*(client.list_calib("UVES", pro_catg="SLOW") for _ in range(6)))

    assert results == [[]] * 6
    assert counts["most_active"] == 2
