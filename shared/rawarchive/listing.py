"""The archive for a caller that only lists (`phoenix abs`, `phoenix run`'s check of a night).

A local folder is read through its stores directly, as the archive app would answer `/api/raw`
and `/api/calib`: no web framework, HTTP client or socket to start, which is most of a listing
command's start-up. Any other archive is opened as the services open it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.rawarchive.interface import RawListing
from shared.rawarchive.settings import ArchiveClientSettings, archive_folder


@asynccontextmanager
async def open_listing(settings: ArchiveClientSettings) -> AsyncIterator[RawListing]:
    root = archive_folder(settings)
    if root is None:
        from shared.rawarchive.client import open_archive

        async with open_archive(settings) as archive:
            yield archive
        return
    from tools.archive.listing import FolderListing

    yield FolderListing(root)
