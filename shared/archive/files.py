"""The archive store: the files of catalogued products, by stable name, under `archive/` of the
file store (so the ingestor and the portal share no disk).

Products are `<product_id>.fits` (`PHX.<timestamp>.<n>.fits`); their ancillary files (preview,
QC report, processing log) lie beside them as `<product_id>.<name>`. Catalogue rows address
them as `archive:<file name>`. A name, once written, is never overwritten: writing the same
content again is a no-op, other content under a taken name is refused.

The ingestor writes here; the portal reads through `key_of`, which refuses names with
separators or `..`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from shared.storage import FileStore, sha256_of

URI_SCHEME = "archive:"
ARCHIVE_PREFIX = "archive"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,254}")
_PRODUCT_ID = re.compile(r"PHX\.\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\.\d+")


class NameTaken(Exception):
    """The archive store already holds other content under this name."""


@dataclass(frozen=True)
class ArchivedFile:
    name: str
    size_bytes: int
    sha256: str

    @property
    def uri(self) -> str:
        return f"{URI_SCHEME}{self.name}"


def is_safe_name(name: str) -> bool:
    """A bare file name: no separators, no `..`, nothing hidden."""
    return bool(_SAFE_NAME.fullmatch(name)) and ".." not in name


def product_file_name(product_id: str) -> str:
    return f"{product_id}.fits"


class ArchiveFiles:
    def __init__(self, store: FileStore) -> None:
        self.store = store

    @staticmethod
    def key_of(name: str) -> str | None:
        """The store key of a product id (→ its FITS file), a file name or an `archive:` URI, or
        None when it is not a safe name."""
        name = name.removeprefix(URI_SCHEME)
        if _PRODUCT_ID.fullmatch(name):
            name = product_file_name(name)
        return f"{ARCHIVE_PREFIX}/{name}" if is_safe_name(name) else None

    async def put(self, source: Path, name: str) -> ArchivedFile:
        """Store a copy of `source` as `name`, never overwriting; the same content under that
        name already is a no-op. Raises NameTaken for other content."""
        key = self.key_of(name)
        if key is None:
            raise ValueError(f"invalid archive file name {name!r}")
        sha256 = await asyncio.to_thread(sha256_of, source)
        if not await self.store.put_new(key, source):
            stored = hashlib.sha256()
            async for chunk in self.store.chunks(key):
                stored.update(chunk)
            if stored.hexdigest() != sha256:
                raise NameTaken(f"{name} exists in the archive store with other content")
        return ArchivedFile(name, source.stat().st_size, sha256)
