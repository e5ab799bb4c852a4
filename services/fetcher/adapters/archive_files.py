"""Archive files into the shared file store: download only what the store does not hold yet."""

from __future__ import annotations

import tempfile
from pathlib import Path

from shared.contracts import StagedFile
from shared.rawarchive.interface import RawArchive
from shared.rawarchive.models import CalibInfo, RawFileInfo
from shared.storage import URI_SCHEME, LocalFileStore


class ArchiveStager:
    """Stages archive files into a `LocalFileStore`, content-addressed by the listing's SHA-256.

    Downloads go to a temporary folder first (the client verifies size and SHA-256 and
    retries), then into the store, so a corrupted transfer never reaches it.
    """

    def __init__(self, client: RawArchive, store: LocalFileStore, work_dir: Path | None = None) -> None:
        self._client = client
        self._store = store
        self._work_dir = work_dir

    async def stage(self, item: RawFileInfo | CalibInfo) -> StagedFile:
        name = item.arcfile if isinstance(item, RawFileInfo) else item.filename
        already = self.stored_copy(name, item.sha256, item.size_bytes)
        if already is not None:
            return already
        with tempfile.TemporaryDirectory(dir=self._work_dir, prefix="phoenix-staging-") as folder:
            downloaded = await self._client.download(item, Path(folder) / name)
            return await self._store.put(downloaded, name)

    def stored_copy(self, name: str, sha256: str, size_bytes: int) -> StagedFile | None:
        # LocalFileStore keeps content under sha256/<2 hex>/<sha256>/<name>; a lookup by
        # checksum on the FileStore protocol would spare knowing that layout here.
        candidate = StagedFile(
            uri=f"{URI_SCHEME}sha256/{sha256[:2]}/{sha256}/{name}", size_bytes=size_bytes, sha256=sha256
        )
        return candidate if self._store.exists(candidate) else None
