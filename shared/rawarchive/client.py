"""Async client of phoenix's own archive API, used by the fetcher (raw frames, calibrations) and the
ingestor (uploads); `open_archive` opens whichever archive the settings name (see `interface.RawArchive`).

Failures follow `shared.rawarchive.http`'s policy: an unknown file is a `DataError`, a refused token a `ConfigError`,
and server errors, timeouts, broken connections and corrupted downloads are retried with capped
exponential backoff, then raised as `TransientError` naming the URL and the last reason.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import anyio
import httpx
from pydantic import TypeAdapter

from shared.errors import DataError
from shared.fileio import fsync_directory
from shared.rawarchive.fitsmeta import compute_checksums
from shared.rawarchive.http import CHUNK_BYTES, Retryable, RetryingHttp, raise_for_status, retry_options, save_stream
from shared.rawarchive.interface import RawArchive
from shared.rawarchive.models import CHECKSUM_HEADER, CalibInfo, RawFileInfo
from shared.rawarchive.settings import ArchiveClientSettings, archive_folder, eso_endpoints
from shared.serving import serve_in_background

_RAW_LIST = TypeAdapter(list[RawFileInfo])
_CALIB_LIST = TypeAdapter(list[CalibInfo])


@dataclass(frozen=True)
class _Expected:
    size_bytes: int | None = None
    sha256: str | None = None


class RawArchiveClient:
    """phoenix's own archive API: `/api/raw`, `/api/calib`."""

    def __init__(self, base_url: str, *, token: str | None = None, **retry_options: float) -> None:
        """`retry_options`: timeout_seconds, max_concurrency, max_attempts, backoff_seconds, backoff_max_seconds."""
        self._retrying = RetryingHttp(base_url, token=token, **retry_options)
        self._http = self._retrying.client
        self._slots = self._retrying.slots

    @classmethod
    def from_settings(cls, settings: ArchiveClientSettings, base_url: str | None = None) -> RawArchiveClient:
        return cls(base_url or settings.url, **retry_options(settings))

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    async def __aenter__(self) -> RawArchiveClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._retrying.aclose()

    async def list_raw(self, instrument: str, night: date | str, night_to: date | str | None = None) -> list[RawFileInfo]:
        params = {"instrument": instrument, "night": str(night)}
        if night_to is not None:
            params["night_to"] = str(night_to)
        response = await self._retrying.request("GET", "/api/raw", params=params)
        return _RAW_LIST.validate_json(response.content)

    async def list_calib(
        self, instrument: str, pro_catg: str | None = None, include_retired: bool = False
    ) -> list[CalibInfo]:
        params = {"instrument": instrument, "include_retired": str(include_retired).lower()}
        if pro_catg is not None:
            params["pro_catg"] = pro_catg
        response = await self._retrying.request("GET", "/api/calib", params=params)
        return _CALIB_LIST.validate_json(response.content)

    async def associated_raw(self, instrument: str, frames: Iterable[RawFileInfo]) -> list[RawFileInfo]:
        """None: phoenix's archive associates nothing itself; the OCA rules do, within the listed nights."""
        return []

    async def certified_masters(self, instrument: str, frames: Iterable[RawFileInfo]) -> list[CalibInfo]:
        """None beyond `list_calib`: phoenix's calibration store holds every certified master it knows."""
        return []

    async def download(self, item: str | RawFileInfo | CalibInfo, dest_path: str | Path) -> Path:
        """Downloads a raw file (by ARCFILE or listing entry) or a calibration to `dest_path`.

        The file appears only once whole and verified (size and SHA-256); nothing is left behind otherwise.
        """
        url, expected = _download_target(item)
        destination = Path(dest_path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        return await self._retrying.with_retries("GET", url, lambda: self._download_once(url, expected, destination))

    async def upload_calib(self, path: str | Path, name: str | None = None, instrument: str | None = None) -> CalibInfo:
        """Registers a certified master; the store retires the current master it supersedes."""
        source = Path(path)
        name = name or source.name.removesuffix(".fits")
        sha256 = (await asyncio.to_thread(compute_checksums, source)).sha256
        url = f"/api/calib/{_quote(name)}"
        params = {"instrument": instrument} if instrument else {}
        headers = {CHECKSUM_HEADER: sha256, "Content-Length": str(source.stat().st_size)}

        async def put_once() -> httpx.Response:
            async with self._slots:
                response = await self._http.put(url, params=params, headers=headers, content=_file_chunks(source))
            raise_for_status(response)
            return response

        response = await self._retrying.with_retries("PUT", url, put_once)
        return CalibInfo.model_validate_json(response.content)

    async def retire_calib(self, name: str, instrument: str | None = None) -> CalibInfo:
        params = {"instrument": instrument} if instrument else {}
        response = await self._retrying.request("POST", f"/api/calib/{_quote(name)}/retire", params=params)
        return CalibInfo.model_validate_json(response.content)

    async def _download_once(self, url: str, expected: _Expected, destination: Path) -> Path:
        partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.part")
        try:
            async with self._slots, self._http.stream("GET", url) as response:
                if response.is_error:
                    await response.aread()
                    raise_for_status(response)
                expected = _expected_from_headers(expected, response.headers, url)
                size, sha256 = await save_stream(response.aiter_bytes(CHUNK_BYTES), partial)
            _verify(url, expected, size, sha256)
            os.replace(partial, destination)
            fsync_directory(destination.parent)
            return destination
        finally:
            partial.unlink(missing_ok=True)


@asynccontextmanager
async def open_archive(settings: ArchiveClientSettings) -> AsyncIterator[RawArchive]:
    """The archive `settings.url` names: ESO's interface (`eso:`, `eso:BASE`), a phoenix archive URL,
    or a local folder, served in-process meanwhile."""
    endpoints = eso_endpoints(settings)
    if endpoints is not None:
        from shared.rawarchive.eso import open_eso_archive

        async with open_eso_archive(endpoints, settings) as archive:
            yield archive
        return
    root = archive_folder(settings)
    if root is None:
        async with RawArchiveClient.from_settings(settings) as client:
            yield client
        return
    # A folder is the local stand-in archive (tools/), served in-process for the client's lifetime.
    from tools.archive.server import create_app
    from tools.archive.settings import ArchiveServerSettings

    server_settings = ArchiveServerSettings(root=root, token=settings.token)
    async with serve_in_background(create_app(server_settings)) as url:
        async with RawArchiveClient.from_settings(settings, base_url=url) as client:
            yield client


def _download_target(item: str | RawFileInfo | CalibInfo) -> tuple[str, _Expected]:
    if isinstance(item, RawFileInfo):
        return f"/api/raw/{_quote(item.arcfile)}", _Expected(item.size_bytes, item.sha256)
    if isinstance(item, CalibInfo):
        return (
            f"/api/calib/{_quote(item.name)}?instrument={_quote(item.instrument)}",
            _Expected(item.size_bytes, item.sha256),
        )
    return f"/api/raw/{_quote(item)}", _Expected()


def _expected_from_headers(expected: _Expected, headers: httpx.Headers, url: str) -> _Expected:
    """What the listing promised wins; otherwise what the server announces for this transfer."""
    length = headers.get("content-length")
    size = expected.size_bytes if expected.size_bytes is not None else (int(length) if length else None)
    sha256 = expected.sha256 or headers.get(CHECKSUM_HEADER)
    if sha256 is None:
        raise DataError(f"GET {url}: the archive sent no {CHECKSUM_HEADER}; cannot verify the download")
    return _Expected(size, sha256.lower())


def _verify(url: str, expected: _Expected, size: int, sha256: str) -> None:
    if expected.size_bytes is not None and size != expected.size_bytes:
        raise Retryable(f"received {size} bytes of {url}, expected {expected.size_bytes}")
    if sha256 != expected.sha256:
        raise Retryable(f"SHA-256 mismatch for {url}: got {sha256}, expected {expected.sha256}")


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as stream:
        while chunk := await stream.read(CHUNK_BYTES):
            yield chunk


def _quote(segment: str) -> str:
    return quote(segment, safe=":+")
