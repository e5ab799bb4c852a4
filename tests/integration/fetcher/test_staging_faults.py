"""Staging against a misbehaving archive (real HTTP on 127.0.0.1): 5xx, slow answers, a corrupted byte."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI, Response

from services.fetcher.adapters.archive_files import ArchiveStager
from services.fetcher.staging import stage_block
from shared.contracts import AssociationBlock, ProcessingMode, RawFrame
from shared.errors import TransientError
from shared.rawarchive.client import RawArchiveClient
from shared.rawarchive.models import RawFileInfo
from shared.serving import serve_in_background
from tests.support.rawarchive import quick_retry_client
from tests.support.storage import folder_store, stored_path

CONTENT = bytes(range(256)) * 40
SHA256 = hashlib.sha256(CONTENT).hexdigest()
FLAKY, SLOW, CORRUPT = (f"UVES.2024-03-01T2{n}:00:00.000.fits" for n in (1, 2, 3))


def _fault_app(counts: dict[str, int]) -> FastAPI:
    app = FastAPI()

    @app.get("/api/raw/{arcfile}")
    async def download(arcfile: str) -> Response:
        counts[arcfile] = counts.get(arcfile, 0) + 1
        body = CONTENT
        if arcfile == FLAKY and counts[arcfile] <= 2:
            return Response("overloaded", status_code=503)
        if arcfile == SLOW:
            await asyncio.sleep(0.3)
        if arcfile == CORRUPT:
            damaged = bytearray(CONTENT)
            damaged[100] ^= 0xFF
            body = bytes(damaged)
        return Response(body, media_type="application/fits", headers={"X-Checksum-SHA256": SHA256})

    return app


@pytest.fixture
async def client(counts: dict[str, int]) -> AsyncIterator[RawArchiveClient]:
    async with serve_in_background(_fault_app(counts)) as url, quick_retry_client(url) as archive:
        yield archive


def _listing(*arcfiles: str) -> dict[str, RawFileInfo]:
    return {
        name: RawFileInfo(arcfile=name, instrument="UVES", night=date(2024, 3, 1), size_bytes=len(CONTENT),
                          md5=hashlib.md5(CONTENT).hexdigest(), sha256=SHA256)
        for name in arcfiles
    }


def _block(*arcfiles: str) -> AssociationBlock:
    return AssociationBlock(
        ab_id="UVES_ECHELLE.2024-03-01.BIAS_BLUE.test", ab_name="test.ab", instrument="UVES",
        instrument_mode="UVES_ECHELLE", night=date(2024, 3, 1), mode=ProcessingMode.MCALIB, dpr_catg="CALIB",
        raw_type="BIAS_BLUE", recipe="uves_cal_mbias", mjd_obs=60370.9, mjd_obs_mod=60370.9,
        raw_files=[RawFrame(arcfile=name, category="BIAS_BLUE", mjd_obs=60370.9) for name in arcfiles],
    )


async def test_server_errors_and_slow_answers_are_ridden_out(
    client: RawArchiveClient, counts: dict[str, int], tmp_path: Path
) -> None:
    store = folder_store(tmp_path / "store")
    staged = await stage_block(_block(FLAKY, SLOW), ArchiveStager(client, store), _listing(FLAKY, SLOW), [])

    assert counts == {FLAKY: 3, SLOW: 1}
    for raw in staged.raw_files:
        assert raw.staged is not None and stored_path(store, raw.staged).read_bytes() == CONTENT


async def test_a_corrupted_byte_is_retried_then_reported_and_never_staged(
    client: RawArchiveClient, counts: dict[str, int], tmp_path: Path
) -> None:
    store_root = tmp_path / "store"
    work = tmp_path / "work"
    work.mkdir()
    stager = ArchiveStager(client, folder_store(store_root), work_dir=work)

    with pytest.raises(TransientError, match=f"{CORRUPT}.*SHA-256 mismatch"):
        await stage_block(_block(CORRUPT), stager, _listing(CORRUPT), [])

    assert counts[CORRUPT] == 3
    assert [p for p in store_root.rglob("*") if p.is_file()] == []
    assert list(work.iterdir()) == []
