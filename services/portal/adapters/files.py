"""Catalogue URIs → files streamed from the file store, never from a disk of the portal's host.

Products and their ancillary files are `archive:<name>` (the ingestor's archive store, keys
from `ArchiveFiles.key_of`, which refuses separators and `..`); QC reports held for review are
`store:` URIs of the file store. Anything else names nothing servable.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

from starlette.responses import StreamingResponse

from shared.archive.files import URI_SCHEME as ARCHIVE_SCHEME
from shared.archive.files import ArchiveFiles
from shared.errors import DataError
from shared.storage import URI_SCHEME as STORE_SCHEME
from shared.storage import FileStore, key_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredFile:
    key: str
    size_bytes: int
    store: FileStore

    def chunks(self) -> AsyncIterator[bytes]:
        return self.store.chunks(self.key)

    async def read(self) -> bytes:
        """The whole file (only for small ones, such as a processing log)."""
        return b"".join([chunk async for chunk in self.chunks()])

    def response(self, filename: str, *, media_type: str | None = None, inline: bool = False,
                 headers: dict[str, str] | None = None) -> StreamingResponse:
        """The file streamed from the store, with its length and name."""
        disposition = "inline" if inline else "attachment"
        return StreamingResponse(
            self.chunks(),
            media_type=media_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
            headers={
                "Content-Length": str(self.size_bytes),
                "Content-Disposition": f"{disposition}; filename*=utf-8''{quote(filename)}",
                **(headers or {}),
            },
        )


class ArchiveFileResolver:
    def __init__(self, store: FileStore) -> None:
        self.store = store

    async def find(self, uri: str) -> StoredFile | None:
        """The stored file `uri` names, or None when there is none."""
        key = self._key(uri)
        size = await self.store.size_of(key) if key is not None else None
        return StoredFile(key, size, self.store) if key is not None and size is not None else None

    @staticmethod
    def _key(uri: str) -> str | None:
        if uri.startswith(ARCHIVE_SCHEME):
            return ArchiveFiles.key_of(uri)
        if uri.startswith(STORE_SCHEME):
            try:
                return key_of(uri)
            except DataError:
                logger.warning("refusing store URI outside the store: %r", uri)
                return None
        logger.warning("not an archive or store URI: %r", uri)
        return None
