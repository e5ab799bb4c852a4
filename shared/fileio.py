"""Durable local writes: a file appears whole or not at all, and survives a crash once written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def fsync_directory(directory: Path) -> None:
    """Make a rename or link inside `directory` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_output(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file that appears at `path` whole when the block ends without error, else not at all.

    Written beside `path` and renamed into place; `durable` also fsyncs the file and its folder, so
    it survives a crash once written (a private scratch copy does without).
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        fsync_directory(path.parent)


def write_atomically(path: Path, content: bytes | str) -> None:
    """Write `content` to a temporary file beside `path`, fsync it, rename it into place."""
    with atomic_output(path) as out:
        out.write(content.encode() if isinstance(content, str) else content)
