"""A raw-archive client for tests against misbehaving servers on 127.0.0.1."""

from __future__ import annotations

from shared.rawarchive.client import RawArchiveClient

QUICK_RETRIES: dict[str, float] = {"timeout_seconds": 5.0, "max_attempts": 3, "backoff_seconds": 0.01,
                                   "backoff_max_seconds": 0.05}


def quick_retry_client(url: str, **options: float) -> RawArchiveClient:
    """A client that retries as the services' does, with millisecond backoffs; `options` override them."""
    return RawArchiveClient(url, **(QUICK_RETRIES | options))
