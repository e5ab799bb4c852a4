"""File stores for tests: a folder (file://) whose objects the test may read, break or remove."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from shared.contracts import StagedFile
from shared.storage import FileStore, StorageSettings, key_of, open_file_store


def folder_store(root: Path) -> FileStore:
    """A file:// store at `root`, its scratch beside it (`<root>-cache`)."""
    return open_file_store(StorageSettings(store_url=root.resolve().as_uri(), cache_dir=root.with_name(f"{root.name}-cache")))


def stored_path(store: FileStore, file: StagedFile | str) -> Path:
    """Where a folder store keeps `file` (tests only: services never read the store's disk)."""
    url = urlparse(store.location)
    assert url.scheme == "file", f"{store.location} is not a folder"
    return Path(url.path) / key_of(file)
