"""ESO's archive interface, against the stand-in over real HTTP: pyvo's TAPService unmodified,
calSelector, `.Z` downloads; and the client against a server answering 401/403/404/5xx or truncating."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pyvo
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from shared.errors import ConfigError, DataError, TransientError
from shared.rawarchive.calselector import RAW2MASTER, RAW2RAW
from shared.rawarchive.client import open_archive
from shared.rawarchive.compression import UNIX_COMPRESS_MAGIC, compress_unix
from shared.rawarchive.eso import EsoArchive, ProprietaryData
from shared.rawarchive.settings import ArchiveClientSettings, eso_endpoints
from shared.serving import serve_in_background
from tests.integration.rawarchive.conftest import BIAS, FLAT, NIGHT, RED_SCIENCE, TRUNCATED
from tests.unit.rawarchive.synthetic import uves_cards, write_fits


def _settings(url: str, tmp_path: Path, **overrides) -> ArchiveClientSettings:
    return ArchiveClientSettings(url=url, cache_dir=tmp_path / "cache", max_attempts=2, backoff_seconds=0.01,
                                 timeout_seconds=10, **overrides)


@pytest.fixture
async def eso(archive_url: str, tmp_path: Path) -> AsyncIterator[EsoArchive]:
    async with open_archive(_settings(f"eso:{archive_url}", tmp_path)) as archive:
        yield archive


def _pyvo(archive_url: str) -> pyvo.dal.TAPService:
    return pyvo.dal.TAPService(f"{archive_url}/tap_obs")


async def test_pyvo_runs_sync_and_async_adql_on_dbo_raw(archive_url: str) -> None:
    query = "SELECT dp_id, dp_cat, dp_type, mjd_obs FROM dbo.raw WHERE instrument = 'UVES' AND dp_cat = 'SCIENCE'"
    sync = await asyncio.to_thread(lambda: _pyvo(archive_url).run_sync(query).to_table())
    assert list(sync["dp_id"]) == [RED_SCIENCE.removesuffix(".fits")]
    assert list(sync["dp_type"]) == ["OBJECT"]
    asynchronous = await asyncio.to_thread(lambda: _pyvo(archive_url).run_async(query).to_table())
    assert list(asynchronous["dp_id"]) == list(sync["dp_id"])
    counted = await asyncio.to_thread(lambda: _pyvo(archive_url).run_sync("SELECT COUNT(*) AS n FROM dbo.raw"))
    assert counted.to_table()["n"][0] == 6


async def test_pyvo_reads_the_tables_and_capabilities_and_gets_errors_as_query_errors(archive_url: str) -> None:
    service = _pyvo(archive_url)
    tables = await asyncio.to_thread(lambda: service.tables)
    assert "dp_id" in [column.name for column in tables["dbo.raw"].columns]
    assert await asyncio.to_thread(lambda: service.maxrec) == 100_000
    with pytest.raises(pyvo.dal.DALQueryError, match="unknown column"):
        await asyncio.to_thread(lambda: service.run_sync("SELECT shoe_size FROM dbo.raw"))
    truncated = await asyncio.to_thread(lambda: service.run_sync("SELECT dp_id FROM dbo.raw", maxrec=2))
    assert len(truncated) == 2


async def test_a_nights_frames_come_with_their_headers_and_are_fetched_once(eso: EsoArchive) -> None:
    frames = {info.arcfile: info for info in await eso.list_raw("UVES", NIGHT)}
    science = frames[RED_SCIENCE]
    assert science.header["DPR.CATG"] == "SCIENCE"
    assert science.header["INS.GRAT2.WLEN"] == 580.0  # not a TAP column: read from the file
    assert science.sha256 and science.error is None
    assert "truncated" in (frames[TRUNCATED].error or "")
    cached = sorted(path.name for path in eso.cache.glob("*.json"))
    again = {info.arcfile: info for info in await eso.list_raw("UVES", NIGHT)}
    assert again[RED_SCIENCE] == science
    assert sorted(path.name for path in eso.cache.glob("*.json")) == cached


async def test_the_cache_keeps_every_description_but_only_as_many_files_as_it_may(
    archive_url: str, archive_root: Path, tmp_path: Path
) -> None:
    async with open_archive(_settings(f"eso:{archive_url}", tmp_path, cache_max_bytes=6000)) as eso:
        frames = {info.arcfile: info for info in await eso.list_raw("UVES", NIGHT)}
        readable = [name for name, info in frames.items() if info.error is None]
        assert len(list(eso.cache.glob("*.json"))) == len(readable) > 2
        assert sum(path.stat().st_size for path in eso.cache.glob("*.fits")) <= 14400  # the last one is kept
        assert {info.arcfile: info for info in await eso.list_raw("UVES", NIGHT)} == frames  # from descriptions
        for name in readable:
            copy = await eso.download(frames[name], tmp_path / "out" / name)
            night_dir = next(d for d in (archive_root / "raw" / "UVES").iterdir() if (d / name).exists())
            assert copy.read_bytes() == (night_dir / name).read_bytes()


async def test_a_download_is_the_verified_decompressed_file(eso: EsoArchive, archive_root: Path, archive_url: str,
                                                            tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        served = await http.get(f"{archive_url}/dataPortal/file/{BIAS.removesuffix('.fits')}")
    assert served.content[:2] == UNIX_COMPRESS_MAGIC
    assert served.headers["content-disposition"].endswith(f'{BIAS.removesuffix(".fits")}.fits.Z"')
    [bias] = [info for info in await eso.list_raw("UVES", NIGHT) if info.arcfile == BIAS]
    path = await eso.download(bias, tmp_path / "out" / BIAS)
    assert path.read_bytes() == (archive_root / "raw" / "UVES" / NIGHT / BIAS).read_bytes()


async def test_calselector_of_the_stand_in_answers_raw_and_master_associations(
    eso: EsoArchive, archive_root: Path
) -> None:
    science, flat = RED_SCIENCE.removesuffix(".fits"), FLAT.removesuffix(".fits")
    [tree] = await eso.associations([science], RAW2RAW)
    assert tree.main_files[0].dp_id == science
    assert BIAS.removesuffix(".fits") in {f.dp_id for f in tree.calibration_files()}
    trees = await eso.associations([science, flat], RAW2RAW)  # multipart
    assert [t.main_files[0].dp_id for t in trees] == [science, flat]
    master = write_fits(archive_root / "calib" / "UVES" / "UVES_MASTER_BIAS_RED.fits",
                        uves_cards("x", **{"PRO.CATG": "MASTER_BIAS_RED", "INS.PATH": "RED", "DET.CHIPS": 2}))
    [tree] = await eso.associations([science], RAW2MASTER)
    assert [(f.dp_id, f.category) for f in tree.calibration_files()] == [("M.UVES_MASTER_BIAS_RED", "MASTER_BIAS_RED")]
    frames = await eso.list_raw("UVES", NIGHT)
    [certified] = await eso.certified_masters("UVES", frames)
    assert (certified.name, certified.pro_catg) == ("M.UVES_MASTER_BIAS_RED", "MASTER_BIAS_RED")
    assert certified.sha256 and certified.setting["INS.PATH"] == "RED"
    copy = await eso.download(certified, archive_root.parent / "master.fits")
    assert copy.read_bytes() == master.read_bytes()


async def test_astroquerys_get_associated_files_works_unmodified_against_the_stand_in(archive_url: str) -> None:
    from astroquery.eso import Eso

    def associated(datasets: list[str]) -> list[str]:
        eso = Eso()
        eso.CALSELECTOR_URL = f"{archive_url}/calselector/v1/associations"
        return sorted(eso.get_associated_files(datasets))

    science, flat, bias = (name.removesuffix(".fits") for name in (RED_SCIENCE, FLAT, BIAS))
    single = await asyncio.to_thread(associated, [science])
    assert {flat, bias} <= set(single) and science not in single
    multipart = await asyncio.to_thread(associated, [science, flat])
    assert bias in multipart and flat not in multipart


# ------------------------------------------------------------ a misbehaving archive

CONTENT = (Path(__file__).resolve().parents[2] / "data" / "eso" / "testfile.fits.Z").read_bytes()


def _fault_app(counts: dict[str, int]) -> FastAPI:
    app = FastAPI()

    @app.get("/dataPortal/file/{dp_id}")
    async def faulty(dp_id: str) -> Response:
        counts[dp_id] = counts.get(dp_id, 0) + 1
        kind = next((part for part in dp_id.split(".") if part != "M"), "")
        if kind in ("401", "403", "404", "500", "503"):
            return Response("no", status_code=int(kind))
        if kind == "FLAKY" and counts[dp_id] == 1:
            return Response("busy", status_code=502)
        if kind == "CUT":
            async def cut_short():
                yield CONTENT[:100]
                raise RuntimeError("connection dropped")
            return StreamingResponse(cut_short(), headers={"Content-Length": str(len(CONTENT))})
        if kind == "GZIP":
            return Response(gzip.compress(_plain()), media_type="application/octet-stream")
        return Response(CONTENT, media_type="application/octet-stream")

    @app.post("/calselector/v1/associations")
    async def calselector(request: Request) -> Response:
        if b"mode=Raw2Raw" in await request.body():
            return Response("<association category='X' mode='Raw2Raw'><mainFiles><file name='GOOD.1' category='S'/>"
                            "</mainFiles><associatedFiles><association category='FLAT'><mainFiles>"
                            "<file name='GOOD.1' category='S'/><file name='UVES.2024-03-03T10:00:00.000' category='F'/>"
                            "<file name='404.2024-03-03T11:00:00.000' category='F'/></mainFiles></association>"
                            "</associatedFiles></association>", media_type="application/xml")
        return Response("<association category='X' mode='Raw2Master'><mainFiles><file name='GOOD.1' category='S'/>"
                        "</mainFiles><associatedFiles><association category='M'><mainFiles>"
                        "<file name='M.404.GONE' category='MASTER_BIAS'/></mainFiles></association>"
                        "</associatedFiles></association>", media_type="application/xml")

    return app


def _plain() -> bytes:
    import ncompress

    return ncompress.decompress(CONTENT)


@pytest.fixture
async def faulty(tmp_path: Path) -> AsyncIterator[tuple[EsoArchive, dict[str, int]]]:
    counts: dict[str, int] = {}
    async with serve_in_background(_fault_app(counts)) as url:
        settings = _settings(f"eso:{url}", tmp_path, token="not-a-real-token")
        archive = EsoArchive(eso_endpoints(settings), settings)
        yield archive, counts
        await archive.aclose()


@pytest.mark.parametrize("status", ["401", "403"])
async def test_proprietary_files_name_the_dp_id_and_how_to_give_a_token(faulty, status: str, tmp_path: Path) -> None:
    archive, _ = faulty
    with pytest.raises(ProprietaryData, match=rf"{status}\.X: HTTP {status} .*PHOENIX_ARCHIVE_TOKEN"):
        await archive.download(f"{status}.X", tmp_path / "x.fits")


async def test_a_vanished_dp_id_is_a_named_not_found(faulty, tmp_path: Path) -> None:
    archive, counts = faulty
    with pytest.raises(DataError, match=r"404\.X: not in the archive \(HTTP 404"):
        await archive.download("404.X", tmp_path / "x.fits")
    assert counts["404.X"] == 1


async def test_server_errors_are_retried_then_named(faulty, tmp_path: Path) -> None:
    archive, counts = faulty
    with pytest.raises(TransientError, match=r"dataPortal/file/503\.X failed after 2 attempts: Retryable: HTTP 503"):
        await archive.download("503.X", tmp_path / "x.fits")
    assert counts["503.X"] == 2
    path = await archive.download("FLAKY.X", tmp_path / "flaky.fits")
    assert path.read_bytes() == _plain() and counts["FLAKY.X"] == 2


async def test_a_truncated_transfer_is_retried_and_never_cached(faulty, tmp_path: Path) -> None:
    archive, counts = faulty
    with pytest.raises(TransientError, match=r"CUT\.X failed after 2 attempts"):
        await archive.download("CUT.X", tmp_path / "x.fits")
    assert counts["CUT.X"] == 2
    assert not list(archive.cache.glob("CUT.X*"))


async def test_gzip_downloads_are_unpacked_too(faulty, tmp_path: Path) -> None:
    archive, _ = faulty
    assert (await archive.download("GZIP.X", tmp_path / "g.fits")).read_bytes() == _plain()


async def test_a_calselector_answer_naming_a_missing_master_leaves_it_out(faulty, caplog) -> None:
    archive, _ = faulty
    from shared.rawarchive.models import RawFileInfo

    frame = RawFileInfo(arcfile="GOOD.1.fits", instrument="UVES", night="2024-03-01", size_bytes=1, md5="", sha256="",
                        header={"DPR.CATG": "SCIENCE"})
    assert await archive.certified_masters("UVES", [frame]) == []
    assert "calSelector named M.404.GONE, but it cannot be fetched: M.404.GONE: not in the archive" in caplog.text


async def test_raw_calibrations_calselector_adds_come_with_their_own_night_or_their_error(faulty) -> None:
    archive, _ = faulty
    from shared.rawarchive.models import RawFileInfo

    frame = RawFileInfo(arcfile="GOOD.1.fits", instrument="UVES", night="2024-03-01", size_bytes=1, md5="", sha256="",
                        header={"DPR.CATG": "SCIENCE"})
    added = {info.arcfile: info for info in await archive.associated_raw("UVES", [frame])}
    assert set(added) == {"UVES.2024-03-03T10:00:00.000.fits", "404.2024-03-03T11:00:00.000.fits"}
    fetched, missing = added["UVES.2024-03-03T10:00:00.000.fits"], added["404.2024-03-03T11:00:00.000.fits"]
    assert str(fetched.night) == "2024-03-02" and fetched.sha256 and fetched.error is None
    assert str(missing.night) == "2024-03-02" and "not in the archive (HTTP 404" in missing.error


async def test_eso_takes_no_uploads_without_a_phoenix_calibration_store(tmp_path: Path) -> None:
    async with open_archive(_settings("eso:", tmp_path)) as archive:
        with pytest.raises(ConfigError, match="PHOENIX_ARCHIVE_CALIB_URL"):
            await archive.upload_calib(tmp_path / "m.fits")
        assert await archive.list_calib("UVES") == []


def test_compress_unix_is_what_the_stand_in_serves() -> None:
    assert compress_unix(b"SIMPLE")[:2] == UNIX_COMPRESS_MAGIC
