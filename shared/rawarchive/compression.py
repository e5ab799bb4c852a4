"""Unpack a downloaded archive file: ESO serves raw frames Unix-compressed (`.fits.Z`), some files gzipped.

The kind is told by the file's magic bytes, not its name. `.Z` (LZW) is read with `ncompress`,
the C implementation of the original `compress` tool as a Python extension: it streams file to
file, so a large frame never sits in memory, and it also compresses, which the local stand-in
needs to serve frames as ESO does (the pure-Python `unlzw3` only decompresses, whole buffers).
"""

from __future__ import annotations

import gzip
import shutil
import zlib
from pathlib import Path

import ncompress

from shared.errors import DataError

UNIX_COMPRESS_MAGIC = b"\x1f\x9d"
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_BYTES = 1024 * 1024


def compression_of(path: Path) -> str | None:
    """`"compress"`, `"gzip"` or None (plain)."""
    with path.open("rb") as stream:
        magic = stream.read(2)
    if magic == UNIX_COMPRESS_MAGIC:
        return "compress"
    if magic == GZIP_MAGIC:
        return "gzip"
    return None


def unpack(source: Path, destination: Path) -> Path:
    """`source` decompressed into `destination` (a plain file is copied); a broken stream is a DataError."""
    kind = compression_of(source)
    try:
        with source.open("rb") as packed, destination.open("wb") as plain:
            if kind == "compress":
                ncompress.decompress(packed, plain)
            elif kind == "gzip":
                with gzip.GzipFile(fileobj=packed) as unzipped:
                    shutil.copyfileobj(unzipped, plain, _CHUNK_BYTES)
            else:
                shutil.copyfileobj(packed, plain, _CHUNK_BYTES)
    except (OSError, EOFError, ValueError, RuntimeError, zlib.error) as error:
        destination.unlink(missing_ok=True)
        raise DataError(f"{source.name}: cannot decompress ({kind}): {error}") from None
    return destination


def compress_unix(data: bytes) -> bytes:
    """Unix `compress` (LZW) of `data`, as ESO's data portal serves raw frames."""
    return ncompress.compress(data)
