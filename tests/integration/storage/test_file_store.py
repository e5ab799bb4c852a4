"""The file store on both backends: a folder (file://) and a real S3 server (s3proxy)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from obstore.store import S3Store

from shared.errors import ConfigError, DataError, TransientError
from shared.storage import MULTIPART_BYTES, FileStore, StorageSettings, key_of, open_file_store
from tests.support.s3proxy import S3Proxy


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStore:
    if request.param == "s3":
        for name, value in request.getfixturevalue("s3_store_environment").items():
            monkeypatch.setenv(name, value)
    settings = StorageSettings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    return open_file_store(settings)


def _file(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


async def test_a_large_file_goes_up_in_parts_and_comes_back_verified(store: FileStore, tmp_path: Path) -> None:
    source = _file(tmp_path, "UVES.2024-03-01T10:00:00.000.fits", MULTIPART_BYTES * 2 + 123)
    stored = await store.put(source)
    assert stored.uri.endswith(f"/{stored.sha256}/{source.name}") and stored.size_bytes == source.stat().st_size
    assert await store.exists(stored)
    async with store.local_copies([stored]) as copies:
        assert copies[stored.uri].read_bytes() == source.read_bytes()
        scratch = copies[stored.uri].parent
    assert not scratch.exists()
    assert await store.put(source) == stored


async def test_documents_are_read_back_and_absent_ones_are_none(store: FileStore) -> None:
    assert await store.read("jobs/abc/result.json") is None
    await store.write("jobs/abc/result.json", b'{"a": 1}')
    assert await store.read("jobs/abc/result.json") == b'{"a": 1}'


async def test_a_taken_key_is_never_overwritten(store: FileStore, tmp_path: Path) -> None:
    first, second = _file(tmp_path, "a.fits", 100), _file(tmp_path, "b.fits", 100)
    assert await store.put_new("archive/PHX.1.fits", first)
    assert not await store.put_new("archive/PHX.1.fits", second)
    assert b"".join([c async for c in store.chunks("archive/PHX.1.fits")]) == first.read_bytes()


async def test_a_corrupt_object_fails_its_download_by_name(store: FileStore, tmp_path: Path) -> None:
    stored = await store.put(_file(tmp_path, "flat.fits", 5000))
    await store.write(key_of(stored), os.urandom(5000))
    with pytest.raises(DataError, match="flat.fits.*corrupt"):
        await store.download(stored, tmp_path / "copy.fits")
    assert not (tmp_path / "copy.fits").exists()


async def test_a_missing_file_is_a_data_error(store: FileStore, tmp_path: Path) -> None:
    stored = await store.put(_file(tmp_path, "bias.fits", 10))
    gone = stored.model_copy(update={"uri": stored.uri.replace(stored.sha256, "0" * 64)})
    with pytest.raises(DataError, match="missing from the file store"):
        await store.download(gone, tmp_path / "x")


@pytest.mark.parametrize("uri", ["store:../etc/passwd", "store:/etc/passwd", "archive:x", "store:sha256/../../x"])
def test_no_uri_leads_out_of_the_store(uri: str) -> None:
    with pytest.raises(DataError):
        key_of(uri)


async def test_a_missing_bucket_and_refused_credentials_name_the_setting(
    s3proxy: S3Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3proxy.environment("no-such-bucket").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="does not exist: create the bucket or fix PHOENIX_STORE_URL"):
        await open_file_store(StorageSettings(cache_dir=tmp_path)).check()
    monkeypatch.setenv("PHOENIX_STORE_URL", "s3://phoenix")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(ConfigError, match="refused the credentials: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        await open_file_store(StorageSettings(cache_dir=tmp_path)).check()


def test_an_unknown_store_url_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PHOENIX_STORE_URL='ftp://x'"):
        open_file_store(StorageSettings(store_url="ftp://x", cache_dir=tmp_path))


async def test_an_unreachable_server_is_transient(tmp_path: Path) -> None:
    backend = S3Store("phoenix", config={"endpoint": "http://127.0.0.1:9", "access_key_id": "a",
                                         "secret_access_key": "b", "region": "us-east-1"},
                      client_options={"allow_http": "true", "connect_timeout": "1s"},
                      retry_config={"max_retries": 0, "retry_timeout": timedelta(seconds=1)})
    with pytest.raises(TransientError, match="s3://phoenix is unreachable"):
        await FileStore(backend, "s3://phoenix", tmp_path).read("anything")
