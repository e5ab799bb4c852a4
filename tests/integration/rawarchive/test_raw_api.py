"""Listing and downloading raw frames from a real server over HTTP."""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from pathlib import Path

import httpx
import pytest

from shared.errors import DataError
from shared.rawarchive.client import RawArchiveClient
from tests.integration.rawarchive.conftest import (
    BIAS,
    EMPTY,
    FLAT,
    NEXT_BIAS,
    NEXT_NIGHT,
    NIGHT,
    RED_SCIENCE,
    TRUNCATED,
)


async def test_listing_a_night_gives_checksums_and_classifier_keywords(
    client: RawArchiveClient, archive_root: Path
) -> None:
    listing = {info.arcfile: info for info in await client.list_raw("UVES", NIGHT)}

    assert set(listing) == {BIAS, FLAT, RED_SCIENCE, TRUNCATED, EMPTY}
    bias = listing[BIAS]
    content = (archive_root / "raw" / "UVES" / NIGHT / BIAS).read_bytes()
    assert (bias.size_bytes, bias.md5, bias.sha256) == (
        len(content), hashlib.md5(content).hexdigest(), hashlib.sha256(content).hexdigest()
    )
    assert bias.night == date(2024, 3, 1) and bias.instrument == "UVES" and bias.error is None
    assert {key: bias.header[key] for key in ("DPR.CATG", "DPR.TYPE", "DET.WIN1.BINX", "MJD-OBS", "EXPTIME", "OBJECT")} == {
        "DPR.CATG": "CALIB", "DPR.TYPE": "BIAS", "DET.WIN1.BINX": 1, "MJD-OBS": 60370.9612, "EXPTIME": 0.0,
        "OBJECT": "BIAS",
    }
    assert listing[FLAT].header["DPR.TYPE"] == "LAMP,FLAT"


async def test_multi_extension_frames_list_their_chips(client: RawArchiveClient) -> None:
    science = next(info for info in await client.list_raw("UVES", NIGHT) if info.arcfile == RED_SCIENCE)

    assert [(e.extname, e.chip_name) for e in science.extensions] == [("CHIP1", "EEV"), ("CHIP2", "MIT")]
    assert science.header["INS.GRAT2.WLEN"] == 580.0


async def test_unreadable_frames_are_listed_with_the_reason(client: RawArchiveClient) -> None:
    listing = {info.arcfile: info for info in await client.list_raw("UVES", NIGHT)}

    assert listing[EMPTY].error == "empty file (0 bytes)" and listing[EMPTY].size_bytes == 0
    assert listing[TRUNCATED].error is not None and listing[TRUNCATED].error.startswith("truncated: 4000 bytes")


async def test_repeat_listing_is_served_from_the_index(client: RawArchiveClient, archive_root: Path) -> None:
    first = await client.list_raw("UVES", NIGHT)
    index = archive_root / "raw" / "UVES" / NIGHT / ".phoenix-index.json"
    written = index.stat().st_mtime_ns

    assert await client.list_raw("UVES", NIGHT) == first
    assert index.stat().st_mtime_ns == written


async def test_a_night_range_lists_every_night(client: RawArchiveClient) -> None:
    listing = await client.list_raw("UVES", NIGHT, night_to=NEXT_NIGHT)

    assert [info.arcfile for info in listing if info.night == date(2024, 3, 2)] == [NEXT_BIAS]
    assert len(listing) == 6


async def test_unknown_instrument_or_empty_night_is_an_empty_list(client: RawArchiveClient) -> None:
    assert await client.list_raw("GIRAFFE", NIGHT) == []
    assert await client.list_raw("UVES", "2023-01-01") == []


@pytest.mark.parametrize(
    "query",
    ["instrument=UVES&night=2024-3-1", "instrument=UVES&night=2024-02-30", "instrument=UVES&night=1709251200",
     "instrument=UVES", "instrument=UVES&night=2024-03-02&night_to=2024-03-01",
     "instrument=UVES&night=2020-01-01&night_to=2024-01-01", "instrument=..%2F..&night=2024-03-01"],
)
async def test_malformed_queries_are_422(archive_url: str, query: str) -> None:
    async with httpx.AsyncClient(base_url=archive_url) as http:
        assert (await http.get(f"/api/raw?{query}")).status_code == 422


async def test_malformed_night_through_the_client_is_a_data_error(client: RawArchiveClient) -> None:
    with pytest.raises(DataError, match="422"):
        await client.list_raw("UVES", "yesterday")


async def test_download_verifies_and_places_the_file(client: RawArchiveClient, archive_root: Path, tmp_path: Path) -> None:
    info = next(info for info in await client.list_raw("UVES", NIGHT) if info.arcfile == RED_SCIENCE)
    destination = tmp_path / "staged" / RED_SCIENCE

    assert await client.download(info, destination) == destination
    assert destination.read_bytes() == (archive_root / "raw" / "UVES" / NIGHT / RED_SCIENCE).read_bytes()
    assert list(destination.parent.iterdir()) == [destination]


async def test_download_by_name_uses_the_servers_checksums(client: RawArchiveClient, tmp_path: Path) -> None:
    destination = await client.download(NEXT_BIAS, tmp_path / "bias.fits")
    assert destination.stat().st_size > 0


async def test_download_headers_carry_length_and_checksums(archive_url: str, archive_root: Path) -> None:
    content = (archive_root / "raw" / "UVES" / NIGHT / BIAS).read_bytes()
    async with httpx.AsyncClient(base_url=archive_url) as http:
        response = await http.get(f"/api/raw/{BIAS}")

    assert response.status_code == 200 and response.content == content
    assert int(response.headers["content-length"]) == len(content)
    assert response.headers["content-md5"] == base64.b64encode(hashlib.md5(content).digest()).decode()
    assert response.headers["x-checksum-sha256"] == hashlib.sha256(content).hexdigest()


async def test_unknown_file_is_404_and_a_data_error(client: RawArchiveClient, archive_url: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=archive_url) as http:
        assert (await http.get("/api/raw/UVES.2031-01-01T00:00:00.000.fits")).status_code == 404
    with pytest.raises(DataError, match="not found"):
        await client.download("UVES.2031-01-01T00:00:00.000.fits", tmp_path / "staged" / "x.fits")
    assert list((tmp_path / "staged").iterdir()) == []


@pytest.mark.parametrize(
    "raw_path",
    [
        "/api/raw/..%2F..%2Fetc%2Fpasswd",
        "/api/raw/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/raw/%2Fetc%2Fpasswd",
        "/api/raw//etc/passwd",
        "/api/raw/%2E%2E",
        "/api/raw/..%5C..%5Cetc%5Cpasswd",
        f"/api/raw/..%2FUVES%2F{NIGHT}%2F{BIAS}",
        "/api/calib/..%2F..%2Fetc%2Fpasswd",
        "/api/calib/%2Fetc%2Fpasswd",
        "/api/calib/..%2Fraw%2FUVES",
    ],
)
async def test_paths_outside_the_archive_are_404(archive_url: str, raw_path: str) -> None:
    async with httpx.AsyncClient(base_url=archive_url) as http:
        # a prepared URL keeps the percent-encoding exactly as written
        response = await http.send(http.build_request("GET", httpx.URL(archive_url + raw_path)))

    assert response.status_code == 404
    assert b"root:" not in response.content


async def test_a_symlink_leaving_the_root_is_404(archive_root: Path, archive_url: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.fits"
    secret.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    (archive_root / "raw" / "UVES" / NIGHT / "UVES.2024-03-01T22:00:00.000.fits").symlink_to(secret)

    async with httpx.AsyncClient(base_url=archive_url) as http:
        response = await http.get("/api/raw/UVES.2024-03-01T22:00:00.000.fits")
        listing = (await http.get("/api/raw", params={"instrument": "UVES", "night": NIGHT})).json()

    assert response.status_code == 404
    assert "UVES.2024-03-01T22:00:00.000.fits" not in {entry["arcfile"] for entry in listing}


async def test_openapi_is_published(archive_url: str) -> None:
    async with httpx.AsyncClient(base_url=archive_url) as http:
        spec = (await http.get("/openapi.json")).json()
        docs = await http.get("/docs")

    assert docs.status_code == 200
    assert {"/api/raw", "/api/raw/{arcfile}", "/api/calib", "/api/calib/{name}", "/api/calib/{name}/retire"} <= set(spec["paths"])
