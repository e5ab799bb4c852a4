"""`--archive URL_OR_DIR`: a folder is served on a local port, or read directly by a caller that only
lists; `phoenix archive serve` from the command line."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from pathlib import Path

import httpx
import pytest

from shared.errors import ConfigError, DataError
from shared.rawarchive.client import open_archive
from shared.rawarchive.listing import open_listing
from shared.rawarchive.settings import ArchiveClientSettings
from tests.integration.rawarchive.conftest import BIAS, NEXT_NIGHT, NIGHT
from tests.unit.rawarchive.synthetic import write_master

STARTUP_SECONDS = 30.0


async def test_a_listing_caller_reads_a_folder_as_the_archive_app_answers(archive_root: Path) -> None:
    threads = threading.active_count()
    async with open_listing(ArchiveClientSettings(url=str(archive_root))) as listing:
        assert listing.base_url == str(archive_root)
        assert threading.active_count() == threads  # no server thread
        raw = await listing.list_raw("UVES", NIGHT)
        calib = await listing.list_calib("UVES")
    async with open_archive(ArchiveClientSettings(url=str(archive_root))) as client:
        assert raw == await client.list_raw("UVES", NIGHT)
        assert calib == await client.list_calib("UVES")
    assert len(raw) == 5


@pytest.mark.parametrize(
    ("night", "night_to", "reason"),
    [(NEXT_NIGHT, NIGHT, f"night_to {NIGHT} is before night {NEXT_NIGHT}"),
     ("2020-01-01", "2024-01-01", "2020-01-01 to 2024-01-01 is 1462 nights: at most 366 per listing")],
)
async def test_a_listing_caller_refuses_a_night_range_as_the_archive_app_does(
    archive_root: Path, night: str, night_to: str, reason: str
) -> None:
    async with open_listing(ArchiveClientSettings(url=str(archive_root))) as listing:
        with pytest.raises(DataError, match=f"^{reason}$"):
            await listing.list_raw("UVES", night, night_to)
    async with open_archive(ArchiveClientSettings(url=str(archive_root))) as client:
        with pytest.raises(DataError, match=f"HTTP 422: {reason}$"):
            await client.list_raw("UVES", night, night_to)


async def test_a_folder_is_served_on_a_local_port_for_downloads_and_uploads(archive_root: Path, tmp_path: Path) -> None:
    master = write_master(tmp_path / "MB_BLUE_A.fits", "MASTER_BIAS_BLUE")
    async with open_archive(ArchiveClientSettings(url=str(archive_root))) as client:
        assert client.base_url.startswith("http://127.0.0.1:")
        url = client.base_url
        listing = await client.list_raw("UVES", NIGHT)
        await client.download(next(info for info in listing if info.arcfile == BIAS), tmp_path / "got.fits")
        info = await client.upload_calib(master)  # a streamed request body
        with pytest.raises(DataError, match=f"GET {url}/api/raw/UVES.missing.fits: not found"):
            await client.download("UVES.missing.fits", tmp_path / "missing.fits")

    assert (tmp_path / "got.fits").is_file()
    assert info.status == "current" and (archive_root / "calib" / "UVES" / "MB_BLUE_A.fits").is_file()
    with pytest.raises(httpx.ConnectError):  # stopped with the context
        async with httpx.AsyncClient() as http:
            await http.get(f"{url}/healthz")


async def test_a_url_is_used_as_it_is(archive_url: str) -> None:
    async with open_archive(ArchiveClientSettings(url=archive_url)) as client:
        assert client.base_url == archive_url
        assert len(await client.list_raw("UVES", NIGHT)) == 5
    async with open_listing(ArchiveClientSettings(url=archive_url)) as listing:
        assert listing.base_url == archive_url
        assert len(await listing.list_raw("UVES", NIGHT)) == 5


async def test_neither_url_nor_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        async with open_archive(ArchiveClientSettings(url=str(tmp_path / "missing"))):
            pass


async def test_phoenix_archive_serve_announces_its_url(archive_root: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.cli", "archive", "serve", "--root", str(archive_root),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), STARTUP_SECONDS)).decode().strip()
        assert line.startswith("archive=http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=line.removeprefix("archive=")) as http:
            listing = (await http.get("/api/raw", params={"instrument": "UVES", "night": NIGHT})).json()
        assert BIAS in {entry["arcfile"] for entry in listing}
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), STARTUP_SECONDS) == 130
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
