"""HTTP with the archive clients' failure policy: bounded concurrency, capped backoff, errors by kind.

Server errors (5xx, 408, 429), timeouts, broken connections and corrupted transfers are retried
with capped exponential backoff, then raised as `TransientError` naming the URL and the last
reason; a 404 or another client error is a `DataError`; a refused token a `ConfigError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
from collections.abc import AsyncIterable, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx

from shared.errors import ConfigError, DataError, TransientError
from shared.rawarchive.settings import ArchiveClientSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
CHUNK_BYTES = 1024 * 1024
_RETRYABLE_STATUS = frozenset({408, 429})


class Retryable(Exception):
    """A failure worth another attempt (server error, corrupted transfer)."""


class RetryingHttp:
    """One httpx client with the retry policy; `base_url` may be empty when callers pass full URLs."""

    def __init__(
        self,
        base_url: str = "",
        *,
        token: str | None = None,
        timeout_seconds: float = 30.0,
        max_concurrency: int = 8,
        max_attempts: int = 4,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds, headers=headers,
                                        follow_redirects=True)
        self.slots = asyncio.Semaphore(max_concurrency)
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._backoff_max_seconds = backoff_max_seconds

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(self, method: str, url: str, **options: object) -> httpx.Response:
        async def once() -> httpx.Response:
            async with self.slots:
                response = await self.client.request(method, url, **options)
            raise_for_status(response)
            return response

        return await self.with_retries(method, url, once)

    async def with_retries(self, method: str, url: str, attempt: Callable[[], Awaitable[T]]) -> T:
        full_url = str(self.client.base_url.join(url))
        reason = ""
        for number in range(1, self._max_attempts + 1):
            try:
                return await attempt()
            except (httpx.TransportError, Retryable) as error:
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


def retry_options(settings: ArchiveClientSettings) -> dict[str, Any]:
    """The token and retry policy of `settings`, as `RetryingHttp` takes them."""
    return {
        "token": settings.token.get_secret_value() if settings.token else None,
        "timeout_seconds": settings.timeout_seconds,
        "max_concurrency": settings.max_concurrency,
        "max_attempts": settings.max_attempts,
        "backoff_seconds": settings.backoff_seconds,
        "backoff_max_seconds": settings.backoff_max_seconds,
    }


class StreamTooLarge(Exception):
    """A stream went on past the size it was allowed."""


async def save_stream(chunks: AsyncIterable[bytes], path: Path, max_bytes: int | None = None) -> tuple[int, str]:
    """Writes `chunks` (a download's or an upload's body) to `path`, fsynced; returns its size and hex
    SHA-256. StreamTooLarge as soon as it goes past `max_bytes`."""
    digest, size = hashlib.sha256(), 0
    async with await anyio.open_file(path, "wb") as stream:
        async for chunk in chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise StreamTooLarge(f"more than {max_bytes} bytes")
            digest.update(chunk)
            await stream.write(chunk)
        await stream.flush()
        await anyio.to_thread.run_sync(os.fsync, stream.wrapped.fileno())
    return size, digest.hexdigest()


def raise_for_status(response: httpx.Response) -> None:
    if not response.is_error:
        return
    status, detail = response.status_code, detail_of(response)
    where = f"{response.request.method} {response.request.url}"
    if status >= 500 or status in _RETRYABLE_STATUS:
        raise Retryable(f"HTTP {status}: {detail}")
    if status in (401, 403):
        raise ConfigError(f"{where}: HTTP {status} (check PHOENIX_ARCHIVE_TOKEN): {detail}")
    if status == 404:
        raise DataError(f"{where}: not found: {detail}")
    raise DataError(f"{where}: HTTP {status}: {detail}")


def detail_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)
