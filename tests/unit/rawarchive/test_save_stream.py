"""save_stream: what the raw archive's downloads and the stand-in's uploads write to disk."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.rawarchive.http import StreamTooLarge, save_stream


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_the_file_holds_the_stream_and_its_size_and_sha256_are_returned(tmp_path: Path) -> None:
    target = tmp_path / "frame.fits"
    size, sha256 = await save_stream(_chunks(b"SIMPLE", b" = T"), target)
    assert target.read_bytes() == b"SIMPLE = T"
    assert (size, sha256) == (10, hashlib.sha256(b"SIMPLE = T").hexdigest())


async def test_a_stream_past_its_limit_is_refused_once_it_passes_it(tmp_path: Path) -> None:
    with pytest.raises(StreamTooLarge):
        await save_stream(_chunks(b"a" * 10, b"b" * 10), tmp_path / "upload", max_bytes=15)
    assert await save_stream(_chunks(b"a" * 10, b"b" * 5), tmp_path / "upload", max_bytes=15) == (
        15, hashlib.sha256(b"a" * 10 + b"b" * 5).hexdigest()
    )
