"""Archive files into the shared file store: download only what the store does not hold yet."""

from __future__ import annotations

import tempfile
from pathlib import Path

from shared.contracts import StagedFile
from shared.rawarchive.interface import RawArchive
from shared.rawarchive.models import CalibInfo, RawFileInfo
from shared.storage import URI_SCHEME, FileStore, content_key


class ArchiveStager:
    """Stages archive files into the `FileStore`, content-addressed by the listing's SHA-256.

    Downloads go to a temporary folder first (the client verifies size and SHA-256 and
    retries), then into the store, so a corrupted transfer never reaches it.
    """

    def __init__(self, client: RawArchive, store: FileStore, work_dir: Path | None = None) -> None:
        self._client = client
        self._store = store
        self._work_dir = work_dir

    async def stage(self, item: RawFileInfo | CalibInfo) -> StagedFile:
        name = item.arcfile if isinstance(item, RawFileInfo) else item.filename
        already = await self.stored_copy(name, item.sha256, item.size_bytes)
        if already is not None:
            return already
        with tempfile.TemporaryDirectory(dir=self._work_dir, prefix="phoenix-staging-") as folder:
            downloaded = await self._client.download(item, Path(folder) / name)
            return await self._store.put(downloaded, name)

    async def stored_copy(self, name: str, sha256: str, size_bytes: int) -> StagedFile | None:
        candidate = StagedFile(uri=URI_SCHEME + content_key(sha256, name), size_bytes=size_bytes, sha256=sha256)
        return candidate if await self._store.exists(candidate) else None
