"""Catalogue URIs → files on disk, never outside the archive store or the shared file store.

Products and their ancillary files are `archive:<name>` (the ingestor's archive store, read
through `ArchiveFiles.path_of`, which refuses separators, `..` and symlinks out of its root);
QC reports held for review are `store:` URIs of the shared file store. Anything else names
nothing servable.
"""

from __future__ import annotations

import logging
from pathlib import Path

from shared.archive.files import URI_SCHEME as ARCHIVE_SCHEME
from shared.archive.files import ArchiveFiles
from shared.storage import URI_SCHEME as STORE_SCHEME

logger = logging.getLogger(__name__)


class ArchiveFileResolver:
    def __init__(self, archive_root: Path, store_root: Path) -> None:
        self.archive = ArchiveFiles(archive_root)
        self.store_root = store_root.resolve()

    def path_of(self, uri: str) -> Path | None:
        """The existing regular file `uri` names, or None."""
        if uri.startswith(ARCHIVE_SCHEME):
            return self.archive.path_of(uri)
        if uri.startswith(STORE_SCHEME):
            return self._in_store(uri.removeprefix(STORE_SCHEME))
        logger.warning("not an archive or store URI: %r", uri)
        return None

    def _in_store(self, relative: str) -> Path | None:
        if "\x00" in relative or relative.startswith("/"):
            return None
        path = (self.store_root / relative).resolve()
        if not path.is_relative_to(self.store_root):
            logger.warning("refusing store URI outside the store: %r", relative)
            return None
        return path if path.is_file() else None
