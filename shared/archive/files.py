"""The archive store: the files of catalogued products, by stable name, in one flat folder.

Products are `<product_id>.fits` (`PHX.<timestamp>.<n>.fits`); their ancillary files (preview,
QC report, processing log) lie beside them as `<product_id>.<name>`. Catalogue rows address
them as `archive:<file name>`. A name, once written, is never overwritten: writing the same
content again is a no-op, other content under a taken name is refused.

The ingestor writes here; the portal reads through `path_of`, which never resolves outside the
root (no separators, no `..`, no symlink leading out).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shared.fileio import fsync_directory
from shared.storage import CHUNK_BYTES, sha256_of

URI_SCHEME = "archive:"
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
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_of(self, name: str) -> Path | None:
        """The file a product id (→ its FITS file), a file name or an `archive:` URI names, or
        None when it names no regular file inside the root."""
        name = name.removeprefix(URI_SCHEME)
        if _PRODUCT_ID.fullmatch(name):
            name = product_file_name(name)
        if not is_safe_name(name):
            return None
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    def put(self, source: Path, name: str) -> ArchivedFile:
        """Store a copy of `source` as `name` (atomically, never overwriting); the same content
        under that name already is a no-op. Raises NameTaken for other content."""
        if not is_safe_name(name):
            raise ValueError(f"invalid archive file name {name!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / name
        sha256 = sha256_of(source)
        if not target.exists():
            self._link_new(source, target)
        return self._described(target, name, sha256)

    def _link_new(self, source: Path, target: Path) -> None:
        """Copy to a temporary file beside the target, then hard-link it into place: unlike a
        rename, a link fails when the name exists, so a concurrent writer is never overwritten."""
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out, open(source, "rb") as stream:
                while chunk := stream.read(CHUNK_BYTES):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, target)
            except FileExistsError:
                pass  # another writer got there first; _described compares the contents
        finally:
            Path(temporary).unlink(missing_ok=True)
        fsync_directory(self.root)

    @staticmethod
    def _described(target: Path, name: str, sha256: str) -> ArchivedFile:
        if target.is_symlink() or not target.is_file():
            raise NameTaken(f"{name} exists in the archive store and is not a regular file")
        if sha256_of(target) != sha256:
            raise NameTaken(f"{name} exists in the archive store with other content")
        return ArchivedFile(name, target.stat().st_size, sha256)
