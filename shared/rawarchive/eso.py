"""ESO's Science Archive as phoenix's raw-data archive: TAP `dbo.raw`, calSelector, the data portal.

- A night's frames: one ADQL query on `dbo.raw` (TAP `tap_obs`, synchronous) for the instrument's
  frames with `mjd_obs` from noon UTC of the night's evening date to noon UTC the next day.
- Their headers: the keywords the TAP columns carry (DPR.CATG from `dp_cat`, …), completed from
  the file itself, downloaded once (`dataPortal/file/<dp_id>`, served `.fits.Z`), decompressed and
  kept in the cache folder with its description, so staging later copies it instead of fetching.
- ESO's certified master calibrations for science frames: calSelector in Raw2Master mode.
- The masters phoenix makes itself go to a phoenix calibration store (`calib_url`), if one is set.

A frame that cannot be fetched (404, proprietary without a token, a broken stream) is listed with
`error` set, so the fetcher leaves it out with that reason and the rest of the night goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import re
import shutil
import uuid
import warnings
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from shared.errors import ConfigError, DataError, TransientError
from shared.fileio import fsync_directory, write_atomically
from shared.rawarchive.calselector import RAW2MASTER, RAW2RAW, Association, parse_associations
from shared.rawarchive.compression import unpack
from shared.rawarchive.fitsmeta import compute_checksums, read_fits_metadata
from shared.rawarchive.http import CHUNK_BYTES, Retryable, RetryingHttp, raise_for_status, retry_options, save_stream
from shared.rawarchive.interface import RawArchive
from shared.rawarchive.models import CalibInfo, ExtensionInfo, Header, RawFileInfo
from shared.rawarchive.settings import ArchiveClientSettings, EsoEndpoints, archive_cache_dir

log = logging.getLogger(__name__)

MJD_OF_1858_11_17 = date(1858, 11, 17)
MASTER_PREFIX = "M."
"""ESO names its certified master calibrations `M.<INSTRUMENT>.<time>`; raw frames have no prefix."""

TAP_HEADER_KEYWORDS: dict[str, str] = {
    "dp_cat": "DPR.CATG",
    "dp_type": "DPR.TYPE",
    "dp_tech": "DPR.TECH",
    "instrument": "INSTRUME",
    "object": "OBJECT",
    "ra": "RA",
    "dec": "DEC",
    "date_obs": "DATE-OBS",
    "mjd_obs": "MJD-OBS",
    "exposure": "EXPTIME",
    "prog_id": "OBS.PROG.ID",
    "ob_id": "OBS.ID",
    "tpl_start": "TPL.START",
}
"""`dbo.raw` columns the fetcher selects, and the header keyword each one carries."""

CALSELECTOR_BATCH = 50
"""dp_ids per calSelector request (astroquery batches too, to spare ESO's server)."""

_DP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,200}$")


class ProprietaryData(DataError):
    """The archive refused a file: proprietary, and no (or not the right) token."""


class _CachedFile(BaseModel):
    """What the cache keeps about a downloaded, decompressed file beside it."""

    dp_id: str
    size_bytes: int
    md5: str
    sha256: str
    header: Header
    extensions: list[ExtensionInfo]


def night_window_mjd(first: date, last: date) -> tuple[float, float]:
    """MJD from noon UTC of `first`'s evening to noon UTC after `last`'s night."""
    start = (first - MJD_OF_1858_11_17).days + 0.5
    return start, start + (last - first).days + 1


def night_of_mjd(mjd: float) -> date:
    return MJD_OF_1858_11_17 + timedelta(days=int(mjd - 0.5))


def raw_frames_query(instrument: str, first: date, last: date) -> str:
    """The ADQL selecting the frames of nights `first`..`last` from `dbo.raw`."""
    if not re.fullmatch(r"[A-Z0-9_-]{1,32}", instrument):
        raise ConfigError(f"instrument {instrument!r} is not an ESO instrument name")
    start, end = night_window_mjd(first, last)
    columns = ", ".join(TAP_HEADER_KEYWORDS)
    return (f"SELECT dp_id, {columns} FROM dbo.raw WHERE instrument = '{instrument}' "
            f"AND mjd_obs >= {start:.1f} AND mjd_obs < {end:.1f} ORDER BY mjd_obs")


def parse_tap_result(content: bytes) -> list[dict[str, object]]:
    """The rows of a TAP VOTable answer; an ERROR status (or no table) is a DataError with ESO's message."""
    from astropy.io.votable import parse as parse_votable  # here: astropy costs ~0.4 s of every archive's start

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # VOTable spec pedantry in real answers
        try:
            votable = parse_votable(io.BytesIO(content))
        except Exception as error:  # astropy raises many kinds for a non-VOTable body
            raise DataError(f"TAP answer is not a VOTable: {error}") from None
    for resource in votable.resources:
        for info in resource.infos:
            if info.name == "QUERY_STATUS" and info.value == "ERROR":
                raise DataError(f"TAP query failed: {(info.content or '').strip()}")
    tables = list(votable.iter_tables())
    if not tables:
        raise DataError("TAP answer holds no table")
    table = tables[0].to_table(use_names_over_ids=True)
    return [{name: _plain(row[name]) for name in table.colnames} for row in table]


def _plain(value: object) -> object:
    import numpy

    if value is None or numpy.ma.is_masked(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return None if value == "" else value  # VOTable TABLEDATA writes a null string as empty


class EsoArchive:
    """ESO's Science Archive interface (or the local stand-in speaking it), with a file cache."""

    def __init__(self, endpoints: EsoEndpoints, settings: ArchiveClientSettings,
                 calib_store: RawArchive | None = None) -> None:
        self.endpoints = endpoints
        self._http = RetryingHttp(**retry_options(settings))
        portal_key = hashlib.sha256(endpoints.dataportal.encode()).hexdigest()[:12]
        self.cache = archive_cache_dir(settings) / "eso" / portal_key
        self._cache_max_bytes = settings.cache_max_bytes
        self._calib_store = calib_store
        self._fetching: dict[str, asyncio.Future[_CachedFile]] = {}

    @property
    def base_url(self) -> str:
        return self.endpoints.tap.removesuffix("/tap_obs")

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------ raw frames

    async def list_raw(self, instrument: str, night: date | str, night_to: date | str | None = None) -> list[RawFileInfo]:
        first = date.fromisoformat(str(night))
        last = date.fromisoformat(str(night_to)) if night_to is not None else first
        rows = await self.query(raw_frames_query(instrument, first, last))
        return list(await asyncio.gather(*(self._describe_raw(row, instrument) for row in rows)))

    async def query(self, adql: str) -> list[dict[str, object]]:
        """Rows of a synchronous ADQL query on the TAP service."""
        data = {"REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": "votable", "QUERY": adql}
        response = await self._http.request("POST", f"{self.endpoints.tap}/sync", data=data)
        return await asyncio.to_thread(parse_tap_result, response.content)

    async def associated_raw(self, instrument: str, frames: Iterable[RawFileInfo]) -> list[RawFileInfo]:
        """Raw calibrations calSelector (Raw2Raw) associates with the science frames among `frames`, beyond them.

        They are described from their own headers (their night from MJD-OBS), so the OCA rules
        classify and organise them like the night's own frames.
        """
        frames = list(frames)
        listed = {info.arcfile.removesuffix(".fits") for info in frames}
        trees = await self.associations(_science_dp_ids(frames), RAW2RAW)
        extra = sorted({file.dp_id for tree in trees for file in tree.calibration_files()
                        if not file.dp_id.startswith(MASTER_PREFIX) and file.dp_id not in listed})
        return list(await asyncio.gather(*(self._describe_raw({"dp_id": dp_id}, instrument) for dp_id in extra)))

    async def _describe_raw(self, row: dict[str, object], instrument: str) -> RawFileInfo:
        dp_id = str(row["dp_id"])
        from_tap = {keyword: row.get(column) for column, keyword in TAP_HEADER_KEYWORDS.items() if row.get(column) is not None}
        try:
            cached = await self.fetch(dp_id)
        except (DataError, TransientError) as error:
            log.warning("%s: header not read: %s", dp_id, error)
            return RawFileInfo(arcfile=f"{dp_id}.fits", instrument=instrument, night=_night_of(from_tap, dp_id),
                               size_bytes=0, md5="", sha256="", header=from_tap, error=str(error))
        night = _night_of({**from_tap, **cached.header}, dp_id)
        return RawFileInfo(
            arcfile=f"{dp_id}.fits", instrument=instrument, night=night, size_bytes=cached.size_bytes,
            md5=cached.md5, sha256=cached.sha256, header={**from_tap, **cached.header}, extensions=cached.extensions,
        )

    # ------------------------------------------------------------ calibrations

    async def list_calib(self, instrument: str, pro_catg: str | None = None, include_retired: bool = False) -> list[CalibInfo]:
        """The masters phoenix made (its calibration store); none without one."""
        if self._calib_store is None:
            return []
        return await self._calib_store.list_calib(instrument, pro_catg, include_retired)

    async def certified_masters(self, instrument: str, frames: Iterable[RawFileInfo]) -> list[CalibInfo]:
        """ESO's certified masters calSelector (Raw2Master) associates with the science frames among `frames`.

        A master that calSelector names but the portal cannot deliver is left out (logged with the
        reason); the association then finds another or leaves the AB INCOMPLETE.
        """
        trees = await self.associations(_science_dp_ids(frames), RAW2MASTER)
        names = sorted({file.dp_id for tree in trees for file in tree.calibration_files()})
        masters = await asyncio.gather(*(self._describe_master(name, instrument) for name in names))
        return [master for master in masters if master is not None]

    async def associations(self, dp_ids: Sequence[str], mode: str = RAW2MASTER) -> list[Association]:
        """calSelector's association trees for `dp_ids` (Raw2Master or Raw2Raw), asked in batches."""
        if mode not in (RAW2MASTER, RAW2RAW):
            raise ConfigError(f"calSelector mode {mode!r}: expected {RAW2RAW} or {RAW2MASTER}")
        trees: list[Association] = []
        for start in range(0, len(dp_ids), CALSELECTOR_BATCH):
            batch = list(dp_ids[start:start + CALSELECTOR_BATCH])
            response = await self._http.request("POST", self.endpoints.calselector, data={"dp_id": batch, "mode": mode})
            trees.extend(parse_associations(response.content, response.headers.get("content-type", "")))
        return trees

    async def _describe_master(self, dp_id: str, instrument: str) -> CalibInfo | None:
        try:
            cached = await self.fetch(dp_id)
        except (DataError, TransientError) as error:
            log.warning("calSelector named %s, but it cannot be fetched: %s", dp_id, error)
            return None
        pro_catg = cached.header.get("PRO.CATG")
        if not pro_catg:
            log.warning("calSelector named %s, but it has no PRO.CATG: not a master calibration", dp_id)
            return None
        mjd = cached.header.get("MJD-OBS")
        mjd_obs = float(mjd) if isinstance(mjd, (int, float)) and not isinstance(mjd, bool) else None
        return CalibInfo(
            name=dp_id, filename=f"{dp_id}.fits", instrument=instrument, pro_catg=str(pro_catg), mjd_obs=mjd_obs,
            night=night_of_mjd(mjd_obs) if mjd_obs is not None else None, setting=cached.header,
            size_bytes=cached.size_bytes, md5=cached.md5, sha256=cached.sha256, status="current",
            registered_at=datetime.fromtimestamp(self._cached_path(dp_id).stat().st_mtime, UTC),
        )

    async def upload_calib(self, path: str | Path, name: str | None = None, instrument: str | None = None) -> CalibInfo:
        return await self._phoenix_store("keep the masters phoenix makes").upload_calib(path, name, instrument)

    async def retire_calib(self, name: str, instrument: str | None = None) -> CalibInfo:
        return await self._phoenix_store("retire a master").retire_calib(name, instrument)

    def _phoenix_store(self, why: str) -> RawArchive:
        if self._calib_store is None:
            raise ConfigError(f"ESO's archive takes no uploads; to {why}, set PHOENIX_ARCHIVE_CALIB_URL "
                              "to a phoenix archive (a folder or its URL)")
        return self._calib_store

    # ------------------------------------------------------------ files

    async def download(self, item: str | RawFileInfo | CalibInfo, dest_path: str | Path) -> Path:
        """Copies the file (decompressed) to `dest_path`, fetching it unless the cache holds what was listed."""
        if isinstance(item, CalibInfo) and not item.name.startswith(MASTER_PREFIX):
            return await self._phoenix_store("fetch a phoenix master").download(item, dest_path)
        dp_id = item if isinstance(item, str) else (item.arcfile if isinstance(item, RawFileInfo) else item.name)
        dp_id = dp_id.removesuffix(".fits")
        expected = None if isinstance(item, str) else item.sha256
        destination = Path(dest_path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        problem = ""
        for _ in range(2):  # once more if the cached file changed, or was evicted meanwhile
            cached = await self.fetch(dp_id, with_file=True)
            if expected and cached.sha256 != expected:
                self._forget(dp_id)
                problem = f"the archive now serves other content (SHA-256 {cached.sha256}) than was listed ({expected})"
                continue
            try:
                await asyncio.to_thread(_copy_atomically, self._cached_path(dp_id), destination)
            except FileNotFoundError:
                problem = f"its cached copy in {self.cache} keeps vanishing (PHOENIX_ARCHIVE_CACHE_MAX_BYTES too small?)"
                continue
            return destination
        raise DataError(f"{dp_id}: {problem}")

    async def fetch(self, dp_id: str, with_file: bool = False) -> _CachedFile:
        """The cached description of `dp_id` (and, `with_file`, its file), downloading and decompressing
        it first if needed, once at a time."""
        if not _DP_ID.fullmatch(dp_id) or ".." in dp_id:
            raise DataError(f"{dp_id!r} is not an archive dp_id")
        cached = self._cached(dp_id)
        if cached is not None and (not with_file or self._holds_file(dp_id, cached)):
            return cached
        if dp_id not in self._fetching:
            self._fetching[dp_id] = asyncio.ensure_future(self._fetch_into_cache(dp_id))
            self._fetching[dp_id].add_done_callback(lambda _: self._fetching.pop(dp_id, None))
        return await asyncio.shield(self._fetching[dp_id])

    def _cached(self, dp_id: str) -> _CachedFile | None:
        try:
            return _CachedFile.model_validate_json(self._cached_path(dp_id).with_suffix(".json").read_bytes())
        except (OSError, ValueError):
            return None

    def _holds_file(self, dp_id: str, cached: _CachedFile) -> bool:
        path = self._cached_path(dp_id)
        try:
            if path.stat().st_size != cached.size_bytes:
                return False
            os.utime(path)  # recently used: evicted last
        except FileNotFoundError:
            return False
        return True

    def _cached_path(self, dp_id: str) -> Path:
        return self.cache / f"{dp_id}.fits"

    def _forget(self, dp_id: str) -> None:
        self._cached_path(dp_id).with_suffix(".json").unlink(missing_ok=True)
        self._cached_path(dp_id).unlink(missing_ok=True)

    async def _fetch_into_cache(self, dp_id: str) -> _CachedFile:
        url = self.endpoints.dataportal + quote(dp_id, safe=":+")
        self.cache.mkdir(parents=True, exist_ok=True)
        packed = self.cache / f".{dp_id}.{uuid.uuid4().hex}.part"
        try:
            await self._http.with_retries("GET", url, lambda: self._download_once(url, dp_id, packed))
            return await asyncio.to_thread(self._unpack_into_cache, dp_id, packed)
        finally:
            packed.unlink(missing_ok=True)

    async def _download_once(self, url: str, dp_id: str, destination: Path) -> None:
        async with self._http.slots, self._http.client.stream("GET", url) as response:
            if response.is_error:
                await response.aread()
                _raise_for_download(response, dp_id)
            announced = response.headers.get("content-length")
            size, _ = await save_stream(response.aiter_bytes(CHUNK_BYTES), destination)
        if announced is not None and size != int(announced):
            raise Retryable(f"received {size} bytes of {url}, announced {announced}")

    def _unpack_into_cache(self, dp_id: str, packed: Path) -> _CachedFile:
        plain = packed.with_suffix(".fits")
        try:
            unpack(packed, plain)
            metadata = read_fits_metadata(plain)
            if metadata.error:
                raise DataError(f"{dp_id}: not usable FITS after download: {metadata.error}")
            checksums = compute_checksums(plain)
            cached = _CachedFile(dp_id=dp_id, size_bytes=checksums.size_bytes, md5=checksums.md5,
                                 sha256=checksums.sha256, header=metadata.header, extensions=metadata.extensions)
            os.replace(plain, self._cached_path(dp_id))
            write_atomically(self._cached_path(dp_id).with_suffix(".json"), cached.model_dump_json())
            fsync_directory(self.cache)
            self._trim_cache(keep=self._cached_path(dp_id))
            return cached
        finally:
            plain.unlink(missing_ok=True)

    def _trim_cache(self, keep: Path) -> None:
        """Removes the least recently used files until the cache fits `cache_max_bytes` (never `keep`)."""
        files = []
        for path in self.cache.glob("*.fits"):
            if path.name.startswith("."):  # a download being unpacked
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            files.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self._cache_max_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size


def _science_dp_ids(frames: Iterable[RawFileInfo]) -> list[str]:
    return [info.arcfile.removesuffix(".fits") for info in frames
            if info.error is None and info.header.get("DPR.CATG") == "SCIENCE"]


def _night_of(header: Header, dp_id: str) -> date:
    """The night of MJD-OBS; else of the time in the dp_id (`UVES.2015-02-24T01:02:03.456`), noon to noon."""
    mjd = header.get("MJD-OBS")
    if isinstance(mjd, (int, float)) and not isinstance(mjd, bool):
        return night_of_mjd(float(mjd))
    stamp = re.search(r"\.(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})", dp_id)
    if stamp is None:
        raise DataError(f"{dp_id}: no MJD-OBS and no time in its name: cannot tell its night")
    return (datetime.fromisoformat(stamp.group(1)) - timedelta(hours=12)).date()


def _raise_for_download(response: httpx.Response, dp_id: str) -> None:
    status = response.status_code
    if status in (401, 403):
        raise ProprietaryData(
            f"{dp_id}: HTTP {status} from {response.request.url}: proprietary data, or a token without access; "
            "give an ESO archive token of an account allowed to read it in PHOENIX_ARCHIVE_TOKEN"
        )
    if status == 404:
        raise DataError(f"{dp_id}: not in the archive (HTTP 404 from {response.request.url})")
    raise_for_status(response)


def _copy_atomically(source: Path, destination: Path) -> None:
    partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.part")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)


@asynccontextmanager
async def open_eso_archive(endpoints: EsoEndpoints, settings: ArchiveClientSettings) -> AsyncIterator[EsoArchive]:
    """An `EsoArchive`, with its phoenix calibration store open beside it when one is configured."""
    from shared.rawarchive.client import open_archive

    async with AsyncExitStack() as stack:
        calib_store = None
        if endpoints.calib_store is not None:
            store_settings = settings.model_copy(update={"url": endpoints.calib_store})
            calib_store = await stack.enter_async_context(open_archive(store_settings))
        archive = EsoArchive(endpoints, settings, calib_store)
        stack.push_async_callback(archive.aclose)
        yield archive
