import pytest

from shared.contracts import StagedFile
from shared.errors import DataError
from shared.storage import LocalFileStore, sha256_of


async def test_put_is_content_addressed_and_idempotent(tmp_path) -> None:
    store = LocalFileStore(tmp_path / "store")
    source = tmp_path / "frame.fits"
    source.write_bytes(b"SIMPLE  = T" + b" " * 100)
    first = await store.put(source)
    again = await store.put(source)
    assert first == again
    assert first.sha256 == sha256_of(source) and first.size_bytes == source.stat().st_size
    assert first.uri.startswith("store:sha256/") and first.uri.endswith("/frame.fits")
    assert store.path(first).read_bytes() == source.read_bytes()
    assert store.exists(first)
    assert not list(store.path(first).parent.glob(".incoming-*"))


async def test_same_content_under_another_name_is_a_separate_entry(tmp_path) -> None:
    store = LocalFileStore(tmp_path / "store")
    source = tmp_path / "a.fits"
    source.write_bytes(b"x")
    a, b = await store.put(source), await store.put(source, name="b.fits")
    assert a.sha256 == b.sha256 and a.uri != b.uri


@pytest.mark.parametrize("uri", ["store:../../etc/passwd", "store:/etc/passwd", "file:///etc/passwd"])
def test_never_resolves_outside_the_store(tmp_path, uri: str) -> None:
    with pytest.raises(DataError):
        LocalFileStore(tmp_path).path(StagedFile(uri=uri, size_bytes=1, sha256="0" * 64))


async def test_refuses_names_with_slashes(tmp_path) -> None:
    source = tmp_path / "a.fits"
    source.write_bytes(b"x")
    with pytest.raises(DataError):
        await LocalFileStore(tmp_path / "s").put(source, name="../evil.fits")
