"""The file store every service reaches over the network, never through a shared disk.

One backend chosen by `PHOENIX_STORE_URL`: `file:///path` (default: the data folder's
`store/`) or `s3://bucket/prefix` (with `PHOENIX_S3_ENDPOINT_URL` and the standard
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`). Both go through obstore, so a
test on a folder and a test on a real S3 server exercise the same code.

What lives in the store, by key:
- `sha256/<2 hex>/<sha256>/<name>`: content-addressed files (staged raw frames, masters,
  products, logs, previews, QC reports), addressed by `store:` URIs in the events; the name
  is kept because pipeline recipes and people read file names;
- `jobs/…`, `qc/…`: small JSON documents (finished job records, cached conversions and QC);
- `archive/<name>`: the archive's product files (`shared.archive.files`).

Files are streamed both ways (multipart uploads above `MULTIPART_BYTES`), and every download
is checked against the SHA-256 the URI carries. Services read stored files through private
local copies (`local_copies`) in a scratch folder under `PHOENIX_CACHE_DIR`, removed afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import obstore
from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from obstore.store import LocalStore, S3Store
from prometheus_client import Counter, Histogram

from shared.contracts import StagedFile
from shared.errors import ConfigError, DataError, TransientError
from shared.fileio import atomic_output
from shared.settings import S3Credentials, StorageSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

URI_SCHEME = "store:"
CHUNK_BYTES = 1 << 20
MULTIPART_BYTES = 8 << 20
STORE_URL_VARIABLE = "PHOENIX_STORE_URL"
TRANSFER_SECONDS = Histogram(
    "phoenix_store_transfer_seconds",
    "Wall time of copying one file into (put, with its checksum) or out of (get, verified) the file store.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
TRANSFER_BYTES = Counter("phoenix_store_transfer_bytes_total", "Bytes copied into or out of the file store.",
                         ["operation"])
# S3 error codes of a refused request; obstore reports some of them only as generic errors.
REFUSED_CREDENTIALS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def content_key(sha256: str, name: str) -> str:
    if "/" in name or name in ("", ".", ".."):
        raise DataError(f"invalid file name for the store: {name!r}")
    return f"sha256/{sha256[:2]}/{sha256}/{name}"


def key_of(file: StagedFile | str) -> str:
    """The object key a `store:` URI names; never one that climbs out of the store."""
    uri = file.uri if isinstance(file, StagedFile) else file
    if not uri.startswith(URI_SCHEME):
        raise DataError(f"not a file-store URI: {uri!r}")
    key = uri.removeprefix(URI_SCHEME)
    if not key or key.startswith("/") or "\x00" in key or ".." in key.split("/"):
        raise DataError(f"file-store URI points outside the store: {uri!r}")
    return key


class FileStore:
    """Files and small documents in one object store (a folder or an S3 bucket)."""

    def __init__(self, backend: object, location: str, scratch_root: Path) -> None:
        self._backend = backend
        self.location = location
        self.scratch_root = scratch_root
        scratch_root.mkdir(parents=True, exist_ok=True)

    async def put(self, source: Path, name: str | None = None) -> StagedFile:
        """Store `source` under its content's key (unless already there) and describe it."""
        started = time.perf_counter()
        sha256 = await asyncio.to_thread(sha256_of, source)
        size = source.stat().st_size
        file = StagedFile(uri=URI_SCHEME + content_key(sha256, name or source.name), size_bytes=size, sha256=sha256)
        if not await self.exists(file):
            async with self._reaching():
                await obstore.put_async(self._backend, key_of(file), source, chunk_size=MULTIPART_BYTES,
                                        use_multipart=size > MULTIPART_BYTES, max_concurrency=4)
            TRANSFER_BYTES.labels("put").inc(size)
        TRANSFER_SECONDS.labels("put").observe(time.perf_counter() - started)
        return file

    async def put_new(self, key: str, source: Path) -> bool:
        """Store `source` under `key` unless the key is taken; False when it was."""
        async with self._reaching():
            try:
                await obstore.put_async(self._backend, key, source, mode="create", chunk_size=MULTIPART_BYTES,
                                        use_multipart=False)
            except AlreadyExistsError:
                return False
        return True

    async def exists(self, file: StagedFile) -> bool:
        size = await self.size_of(key_of(file))
        return size == file.size_bytes

    async def size_of(self, key: str) -> int | None:
        """The size of the object at `key`, None when there is none."""
        meta = await self._object(obstore.head_async, key)
        return None if meta is None else meta["size"]

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes, streamed; DataError when it is missing."""
        result = await self._object(obstore.get_async, key)
        if result is None:
            raise DataError(f"{key} is missing from the file store {self.location}")
        async with self._reaching():
            async for chunk in result.stream(min_chunk_size=CHUNK_BYTES):
                yield bytes(chunk)

    async def verified_chunks(self, file: StagedFile) -> AsyncIterator[bytes]:
        """A stored file's bytes, streamed; DataError at the end when they are not what the URI says."""
        digest, size = hashlib.sha256(), 0
        async for chunk in self.chunks(key_of(file)):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
        if size != file.size_bytes or digest.hexdigest() != file.sha256:
            raise DataError(f"{file.uri} in the file store {self.location} is corrupt: "
                            f"{size} bytes with sha256 {digest.hexdigest()[:12]}…, expected {file.size_bytes} "
                            f"with {file.sha256[:12]}…")

    async def download(self, file: StagedFile, target: Path) -> Path:
        """A verified local copy of a stored file at `target` (written whole or not at all)."""
        started = time.perf_counter()
        with atomic_output(target, durable=False) as out:
            async for chunk in self.verified_chunks(file):
                out.write(chunk)
        TRANSFER_SECONDS.labels("get").observe(time.perf_counter() - started)
        TRANSFER_BYTES.labels("get").inc(file.size_bytes)
        return target

    async def read(self, key: str) -> bytes | None:
        """A small document, None when there is none."""
        result = await self._object(obstore.get_async, key)
        if result is None:
            return None
        async with self._reaching():
            return bytes(await result.bytes_async())

    async def write(self, key: str, content: bytes) -> None:
        """Write a small document (whole: readers see the old or the new one)."""
        async with self._reaching():
            await obstore.put_async(self._backend, key, content)

    @contextmanager
    def scratch(self, prefix: str) -> Iterator[Path]:
        """A private folder of this host, removed afterwards."""
        with tempfile.TemporaryDirectory(dir=self.scratch_root, prefix=prefix) as folder:
            yield Path(folder)

    @asynccontextmanager
    async def local_copies(self, files: Iterable[StagedFile]) -> AsyncIterator[dict[str, Path]]:
        """Verified local copies of stored files by URI, in a scratch folder removed afterwards."""
        with self.scratch("copies-") as folder:
            paths: dict[str, Path] = {}
            for file in files:
                if file.uri not in paths:
                    target = folder / file.sha256[:16] / file.uri.rsplit("/", 1)[-1]
                    target.parent.mkdir(exist_ok=True)
                    paths[file.uri] = await self.download(file, target)
            yield paths

    async def check(self) -> None:
        """Fail at start-up, naming the setting, when the bucket is missing or the credentials refused."""
        try:
            async with self._reaching():
                await obstore.list_with_delimiter_async(self._backend)
        except TransientError as error:
            if "NoSuchBucket" not in str(error):
                raise
            raise ConfigError(
                f"the file store {self.location} does not exist: create the bucket or fix {STORE_URL_VARIABLE}"
            ) from None

    async def _object(self, operation: Callable[[Any, str], Awaitable[T]], key: str) -> T | None:
        """obstore's `operation` (head or get) on the object at `key`; None when there is none."""
        async with self._reaching():
            try:
                return await operation(self._backend, key)
            except (FileNotFoundError, NotFoundError):
                return None

    @asynccontextmanager
    async def _reaching(self) -> AsyncIterator[None]:
        """obstore's errors as phoenix's: refused credentials stop the service, the rest may pass."""
        try:
            yield
        except (PermissionDeniedError, UnauthenticatedError):
            raise self._refused() from None
        except (NotFoundError, AlreadyExistsError):
            raise
        except (BaseError, ConnectionError, TimeoutError) as error:
            if any(code in str(error) for code in REFUSED_CREDENTIALS):
                raise self._refused() from None
            raise TransientError(f"the file store {self.location} is unreachable: {_first_line(error)}") from None

    def _refused(self) -> ConfigError:
        return ConfigError(
            f"the file store {self.location} refused the credentials: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def open_file_store(settings: StorageSettings) -> FileStore:
    """The store `PHOENIX_STORE_URL` names; a URL of another kind stops the service, named."""
    location = settings.store_location
    url = urlparse(location)
    if url.scheme == "file":
        root = Path(url.path)
        root.mkdir(parents=True, exist_ok=True)
        backend: object = LocalStore(root)
    elif url.scheme == "s3" and url.netloc:
        backend = _s3_backend(url.netloc, url.path.strip("/"), settings)
    else:
        raise ConfigError(f"{STORE_URL_VARIABLE}={location!r} is neither file:///path nor s3://bucket/prefix")
    return FileStore(backend, location, settings.cache_root / "scratch")


def _s3_backend(bucket: str, prefix: str, settings: StorageSettings) -> S3Store:
    credentials = S3Credentials()
    if not credentials.access_key_id or not credentials.secret_access_key:
        raise ConfigError(f"{STORE_URL_VARIABLE} names an S3 bucket: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    config: dict[str, str] = {
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key,
        "region": credentials.region,
    }
    if settings.s3_endpoint_url:
        config["endpoint"] = settings.s3_endpoint_url
    return S3Store(
        bucket,
        prefix=prefix or None,
        config=config,
        client_options={
            "allow_http": str((settings.s3_endpoint_url or "").startswith("http://")).lower(),
            "connect_timeout": "5s",
            "timeout": "120s",
        },
        # Rides out a store restart (about 20 s) inside one handler attempt.
        retry_config={"max_retries": 50, "retry_timeout": timedelta(seconds=60),
                      "backoff": {"init_backoff": timedelta(milliseconds=500), "max_backoff": timedelta(seconds=8),
                                  "base": 2}},
    )


def scratch_folder_of(settings: StorageSettings, name: str) -> Path:
    """A folder of this host's private scratch (under `PHOENIX_CACHE_DIR`)."""
    folder = settings.cache_root / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder

