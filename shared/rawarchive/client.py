"""Async client of the raw-data archive, used by the fetcher (raw frames, calibrations) and the ingestor (uploads).

Failures follow `shared.errors`: an unknown file is a `DataError`, a refused token a `ConfigError`, and
server errors, timeouts, broken connections and corrupted downloads are retried with capped exponential
backoff, then raised as `TransientError` naming the URL and the last reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import anyio
import httpx
from pydantic import TypeAdapter

from shared.errors import ConfigError, DataError, TransientError
from shared.fileio import fsync_directory
from shared.rawarchive.fitsmeta import compute_checksums
from shared.rawarchive.models import CHECKSUM_HEADER, CalibInfo, RawFileInfo
from shared.rawarchive.settings import ArchiveClientSettings
from shared.serving import serve_in_background

log = logging.getLogger(__name__)

T = TypeVar("T")
_RAW_LIST = TypeAdapter(list[RawFileInfo])
_CALIB_LIST = TypeAdapter(list[CalibInfo])
_CHUNK_BYTES = 1024 * 1024
_RETRYABLE_STATUS = frozenset({408, 429})


class _Retryable(Exception):
    """A failure worth another attempt (server error, corrupted transfer)."""


@dataclass(frozen=True)
class _Expected:
    size_bytes: int | None = None
    sha256: str | None = None


class RawArchiveClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_seconds: float = 30.0,
        max_concurrency: int = 8,
        max_attempts: int = 4,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds, headers=headers)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._backoff_max_seconds = backoff_max_seconds

    @classmethod
    def from_settings(cls, settings: ArchiveClientSettings, base_url: str | None = None) -> RawArchiveClient:
        return cls(
            base_url or settings.url,
            token=settings.token.get_secret_value() if settings.token else None,
            timeout_seconds=settings.timeout_seconds,
            max_concurrency=settings.max_concurrency,
            max_attempts=settings.max_attempts,
            backoff_seconds=settings.backoff_seconds,
            backoff_max_seconds=settings.backoff_max_seconds,
        )

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    async def __aenter__(self) -> RawArchiveClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def list_raw(self, instrument: str, night: date | str, night_to: date | str | None = None) -> list[RawFileInfo]:
        params = {"instrument": instrument, "night": str(night)}
        if night_to is not None:
            params["night_to"] = str(night_to)
        response = await self._request("GET", "/api/raw", params=params)
        return _RAW_LIST.validate_json(response.content)

    async def list_calib(
        self, instrument: str, pro_catg: str | None = None, include_retired: bool = False
    ) -> list[CalibInfo]:
        params = {"instrument": instrument, "include_retired": str(include_retired).lower()}
        if pro_catg is not None:
            params["pro_catg"] = pro_catg
        response = await self._request("GET", "/api/calib", params=params)
        return _CALIB_LIST.validate_json(response.content)

    async def download(self, item: str | RawFileInfo | CalibInfo, dest_path: str | Path) -> Path:
        """Downloads a raw file (by ARCFILE or listing entry) or a calibration to `dest_path`.

        The file appears only once whole and verified (size and SHA-256); nothing is left behind otherwise.
        """
        url, expected = _download_target(item)
        destination = Path(dest_path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        return await self._with_retries("GET", url, lambda: self._download_once(url, expected, destination))

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
            _raise_for_status(response)
            return response

        response = await self._with_retries("PUT", url, put_once)
        return CalibInfo.model_validate_json(response.content)

    async def retire_calib(self, name: str, instrument: str | None = None) -> CalibInfo:
        params = {"instrument": instrument} if instrument else {}
        response = await self._request("POST", f"/api/calib/{_quote(name)}/retire", params=params)
        return CalibInfo.model_validate_json(response.content)

    async def _request(self, method: str, url: str, **options: object) -> httpx.Response:
        async def once() -> httpx.Response:
            async with self._slots:
                response = await self._http.request(method, url, **options)
            _raise_for_status(response)
            return response

        return await self._with_retries(method, url, once)

    async def _download_once(self, url: str, expected: _Expected, destination: Path) -> Path:
        partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.part")
        try:
            async with self._slots, self._http.stream("GET", url) as response:
                if response.is_error:
                    await response.aread()
                    _raise_for_status(response)
                expected = _expected_from_headers(expected, response.headers, url)
                size, sha256 = await _save_stream(response, partial)
            _verify(url, expected, size, sha256)
            os.replace(partial, destination)
            fsync_directory(destination.parent)
            return destination
        finally:
            partial.unlink(missing_ok=True)

    async def _with_retries(self, method: str, url: str, attempt: Callable[[], Awaitable[T]]) -> T:
        full_url = str(self._http.base_url.join(url))
        reason = ""
        for number in range(1, self._max_attempts + 1):
            try:
                return await attempt()
            except (httpx.TransportError, _Retryable) as error:
                reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            if number < self._max_attempts:
                delay = self._backoff_delay(number)
                log.warning("%s %s failed (attempt %d/%d): %s; retrying in %.2f s",
                            method, full_url, number, self._max_attempts, reason, delay)
                await asyncio.sleep(delay)
        raise TransientError(f"{method} {full_url} failed after {self._max_attempts} attempts: {reason}")

    def _backoff_delay(self, attempt_number: int) -> float:
        capped = min(self._backoff_max_seconds, self._backoff_seconds * 2 ** (attempt_number - 1))
        return capped * random.uniform(0.5, 1.0)  # jitter keeps replicas from retrying in step


@asynccontextmanager
async def open_archive(settings: ArchiveClientSettings) -> AsyncIterator[RawArchiveClient]:
    """A client for `settings.url`; when that is a local folder, an archive server on it runs meanwhile."""
    if settings.url.startswith(("http://", "https://")):
        async with RawArchiveClient.from_settings(settings) as client:
            yield client
        return
    root = Path(settings.url).expanduser()
    if not root.is_dir():
        raise ConfigError(f"archive {settings.url!r} is neither an http(s) URL nor a folder")
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


async def _save_stream(response: httpx.Response, path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    async with await anyio.open_file(path, "wb") as stream:
        async for chunk in response.aiter_bytes(_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            await stream.write(chunk)
        await stream.flush()
        await anyio.to_thread.run_sync(os.fsync, stream.wrapped.fileno())
    return size, digest.hexdigest()


def _verify(url: str, expected: _Expected, size: int, sha256: str) -> None:
    if expected.size_bytes is not None and size != expected.size_bytes:
        raise _Retryable(f"received {size} bytes of {url}, expected {expected.size_bytes}")
    if sha256 != expected.sha256:
        raise _Retryable(f"SHA-256 mismatch for {url}: got {sha256}, expected {expected.sha256}")


def _raise_for_status(response: httpx.Response) -> None:
    if not response.is_error:
        return
    status, detail = response.status_code, _detail_of(response)
    where = f"{response.request.method} {response.request.url}"
    if status >= 500 or status in _RETRYABLE_STATUS:
        raise _Retryable(f"HTTP {status}: {detail}")
    if status in (401, 403):
        raise ConfigError(f"{where}: HTTP {status} (check PHOENIX_ARCHIVE_TOKEN): {detail}")
    if status == 404:
        raise DataError(f"{where}: not found: {detail}")
    raise DataError(f"{where}: HTTP {status}: {detail}")


def _detail_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as stream:
        while chunk := await stream.read(_CHUNK_BYTES):
            yield chunk


def _quote(segment: str) -> str:
    return quote(segment, safe=":+")
