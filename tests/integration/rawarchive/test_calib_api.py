"""The calibration store over HTTP: upload, replace, retire, download, tokens."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shared.errors import ConfigError, DataError
from shared.rawarchive.client import RawArchiveClient
from shared.serving import serve_in_background
from tests.unit.rawarchive.synthetic import write_master
from tools.archive.server import create_app
from tools.archive.settings import ArchiveServerSettings

TOKEN = "s3cret-token"


@pytest.fixture
def masters(tmp_path: Path) -> Path:
    return tmp_path / "masters"


async def test_upload_registers_a_current_master(client: RawArchiveClient, masters: Path, archive_root: Path) -> None:
    path = write_master(masters / "MB_BLUE_A.fits", "MASTER_BIAS_BLUE")

    info = await client.upload_calib(path)

    assert (info.name, info.filename, info.instrument, info.pro_catg, info.status) == (
        "MB_BLUE_A", "MB_BLUE_A.fits", "UVES", "MASTER_BIAS_BLUE", "current"
    )
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.setting["DET.WIN1.BINX"] == 1 and info.setting["DET.READ.SPEED"] == "50kHz/2pts/high"
    assert str(info.night) == "2024-03-01" and info.mjd_obs == 60371.2
    assert (archive_root / "calib" / "UVES" / "MB_BLUE_A.fits").read_bytes() == path.read_bytes()
    assert await client.list_calib("UVES") == [info]


async def test_upload_is_idempotent(client: RawArchiveClient, masters: Path, archive_url: str) -> None:
    path = write_master(masters / "MB_BLUE_A.fits", "MASTER_BIAS_BLUE")
    first = await client.upload_calib(path)

    async with httpx.AsyncClient(base_url=archive_url) as http:
        again = await http.put(
            "/api/calib/MB_BLUE_A", content=path.read_bytes(),
            headers={"X-Checksum-SHA256": first.sha256},
        )

    assert again.status_code == 200 and again.json() == first.model_dump(mode="json")
    assert await client.upload_calib(path) == first


async def test_same_name_with_other_content_is_refused(client: RawArchiveClient, masters: Path) -> None:
    await client.upload_calib(write_master(masters / "a" / "MB.fits", "MASTER_BIAS_BLUE", seed=1))

    with pytest.raises(DataError, match="409"):
        await client.upload_calib(write_master(masters / "b" / "MB.fits", "MASTER_BIAS_BLUE", seed=2))


async def test_checksum_header_must_match(archive_url: str, masters: Path, archive_root: Path) -> None:
    content = write_master(masters / "MB.fits", "MASTER_BIAS_BLUE").read_bytes()
    async with httpx.AsyncClient(base_url=archive_url) as http:
        wrong = await http.put("/api/calib/MB", content=content, headers={"X-Checksum-SHA256": "0" * 64})
        missing = await http.put("/api/calib/MB", content=content)

    assert wrong.status_code == 400 and "mismatch" in wrong.json()["detail"]
    assert missing.status_code == 422
    assert not (archive_root / "calib" / "UVES" / "MB.fits").exists()
    assert list((archive_root / "calib" / ".incoming").iterdir()) == []


async def test_non_fits_or_non_master_uploads_are_400(client: RawArchiveClient, masters: Path) -> None:
    junk = masters / "junk.fits"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"not fits" * 100)
    with pytest.raises(DataError, match="400"):
        await client.upload_calib(junk)


async def test_a_reprocessed_master_retires_the_one_it_replaces(client: RawArchiveClient, masters: Path) -> None:
    old = await client.upload_calib(write_master(masters / "MB_v1.fits", "MASTER_BIAS_BLUE", seed=1))
    binned = await client.upload_calib(
        write_master(masters / "MB_2x2.fits", "MASTER_BIAS_BLUE", **{"DET.WIN1.BINX": 2, "DET.WIN1.BINY": 2})
    )
    other_night = await client.upload_calib(write_master(masters / "MB_next.fits", "MASTER_BIAS_BLUE", mjd_obs=60372.2))
    flat = await client.upload_calib(write_master(masters / "MF.fits", "MASTER_FLAT_BLUE"))

    new = await client.upload_calib(write_master(masters / "MB_v2.fits", "MASTER_BIAS_BLUE", seed=2))

    assert new.replaces == "MB_v1" and new.status == "current"
    current = {info.name for info in await client.list_calib("UVES")}
    assert current == {"MB_v2", binned.name, other_night.name, flat.name}
    everything = {info.name: info for info in await client.list_calib("UVES", include_retired=True)}
    assert everything["MB_v1"].status == "retired" and everything["MB_v1"].replaced_by == "MB_v2"
    assert everything["MB_v1"].retired_at is not None and everything["MB_v1"].sha256 == old.sha256
    assert [info.name for info in await client.list_calib("UVES", pro_catg="MASTER_FLAT_BLUE")] == ["MF"]


async def test_two_masters_of_one_night_from_different_frames_both_stay_current(
    client: RawArchiveClient, masters: Path
) -> None:
    afternoon = await client.upload_calib(write_master(masters / "MB_pm.fits", "MASTER_BIAS_BLUE", mjd_obs=60370.80))
    morning = await client.upload_calib(write_master(masters / "MB_am.fits", "MASTER_BIAS_BLUE", mjd_obs=60371.40))
    assert afternoon.night == morning.night and morning.replaces is None
    assert {info.name for info in await client.list_calib("UVES")} == {"MB_pm", "MB_am"}


async def test_retired_masters_stay_downloadable(client: RawArchiveClient, masters: Path, tmp_path: Path) -> None:
    source = write_master(masters / "MB_v1.fits", "MASTER_BIAS_BLUE", seed=1)
    await client.upload_calib(source)
    await client.upload_calib(write_master(masters / "MB_v2.fits", "MASTER_BIAS_BLUE", seed=2))
    retired = next(info for info in await client.list_calib("UVES", include_retired=True) if info.name == "MB_v1")

    destination = await client.download(retired, tmp_path / "got" / "MB_v1.fits")

    assert destination.read_bytes() == source.read_bytes()


async def test_retire_endpoint(client: RawArchiveClient, masters: Path) -> None:
    await client.upload_calib(write_master(masters / "MB.fits", "MASTER_BIAS_BLUE"))

    retired = await client.retire_calib("MB")

    assert retired.status == "retired" and retired.retired_at is not None
    assert await client.list_calib("UVES") == []
    assert await client.retire_calib("MB") == retired
    with pytest.raises(DataError, match="not found"):
        await client.retire_calib("NO_SUCH_MASTER")


async def test_unknown_calibration_is_404(client: RawArchiveClient, tmp_path: Path, archive_url: str) -> None:
    async with httpx.AsyncClient(base_url=archive_url) as http:
        assert (await http.get("/api/calib/NO_SUCH_MASTER")).status_code == 404
    assert await client.list_calib("GIRAFFE") == []


async def test_masters_copied_in_by_hand_are_adopted(client: RawArchiveClient, archive_root: Path) -> None:
    write_master(archive_root / "calib" / "UVES" / "MB_HAND.fits", "MASTER_BIAS_BLUE")

    assert [(info.name, info.status) for info in await client.list_calib("UVES")] == [("MB_HAND", "current")]


@pytest.fixture
async def guarded_url(archive_root: Path) -> AsyncIterator[str]:
    settings = ArchiveServerSettings(root=archive_root, token=TOKEN)
    async with serve_in_background(create_app(settings)) as url:
        yield url


async def test_a_token_guards_uploads_and_retirements(guarded_url: str, masters: Path) -> None:
    path = write_master(masters / "MB.fits", "MASTER_BIAS_BLUE")
    async with RawArchiveClient(guarded_url, max_attempts=1) as anonymous:
        with pytest.raises(ConfigError, match="401"):
            await anonymous.upload_calib(path)
        with pytest.raises(ConfigError, match="401"):
            await anonymous.retire_calib("MB")
        assert await anonymous.list_calib("UVES") == []  # reading needs no token
    async with RawArchiveClient(guarded_url, token="wrong", max_attempts=1) as impostor:
        with pytest.raises(ConfigError):
            await impostor.upload_calib(path)
    async with RawArchiveClient(guarded_url, token=TOKEN) as ingestor:
        assert (await ingestor.upload_calib(path)).status == "current"
        assert (await ingestor.retire_calib("MB")).status == "retired"
