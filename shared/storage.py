"""The file store every service shares: content-addressed, one small interface.

Files are addressed by `store:` URIs relative to the store root, so services on different
hosts can mount the same volume at different paths. A local folder is the only backend now;
an object store would implement the same `FileStore` protocol.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts import StagedFile
from shared.errors import DataError

URI_SCHEME = "store:"
CHUNK_BYTES = 1 << 20


class StorageSettings(BaseSettings):
    """Where phoenix keeps its files and, by default, its database (`PHOENIX_*`)."""

    model_config = SettingsConfigDict(env_prefix="PHOENIX_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Root of the file store and the SQLite database.")

    @property
    def store_root(self) -> Path:
        return self.data_dir / "store"


class FileStore(Protocol):
    async def put(self, source: Path, name: str | None = None) -> StagedFile: ...
    def path(self, file: StagedFile | str) -> Path: ...
    def exists(self, file: StagedFile) -> bool: ...


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class LocalFileStore:
    """Content-addressed files under `root/sha256/<2 hex>/<sha256>/<name>`; the name is kept
    because pipeline recipes and people read file names."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    async def put(self, source: Path, name: str | None = None) -> StagedFile:
        """Store a copy of `source` (unless identical content is already there) and describe it."""
        return await asyncio.to_thread(self._put, source, name or source.name)

    def path(self, file: StagedFile | str) -> Path:
        """The local path of a stored file; never a path outside the store."""
        uri = file.uri if isinstance(file, StagedFile) else file
        if not uri.startswith(URI_SCHEME):
            raise DataError(f"not a file-store URI: {uri!r}")
        path = (self.root / uri.removeprefix(URI_SCHEME)).resolve()
        if not path.is_relative_to(self.root):
            raise DataError(f"file-store URI points outside the store: {uri!r}")
        return path

    def exists(self, file: StagedFile) -> bool:
        path = self.path(file)
        return path.is_file() and path.stat().st_size == file.size_bytes

    def _put(self, source: Path, name: str) -> StagedFile:
        if "/" in name or name in ("", ".", ".."):
            raise DataError(f"invalid file name for the store: {name!r}")
        sha256 = sha256_of(source)
        relative = Path("sha256") / sha256[:2] / sha256 / name
        target = self.root / relative
        if not (target.is_file() and target.stat().st_size == source.stat().st_size):
            target.parent.mkdir(parents=True, exist_ok=True)
            self._copy_atomically(source, target)
        return StagedFile(uri=f"{URI_SCHEME}{relative.as_posix()}", size_bytes=target.stat().st_size, sha256=sha256)

    @staticmethod
    def _copy_atomically(source: Path, target: Path) -> None:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out, open(source, "rb") as stream:
                shutil.copyfileobj(stream, out, CHUNK_BYTES)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
