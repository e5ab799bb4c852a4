"""The archive store: stable names under archive/ of the file store, never overwritten, never outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.archive.files import ArchiveFiles, NameTaken
from tests.support.storage import folder_store

PRODUCT_ID = "PHX.2026-11-24T18:00:00.123.1"


@pytest.fixture
def files(tmp_path: Path) -> ArchiveFiles:
    return ArchiveFiles(folder_store(tmp_path / "store"))


def a_file(tmp_path: Path, content: bytes, name: str = "source.fits") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


async def test_a_product_is_found_by_its_id_and_by_its_uri(tmp_path: Path, files: ArchiveFiles) -> None:
    stored = await files.put(a_file(tmp_path, b"spectrum"), f"{PRODUCT_ID}.fits")
    assert stored.uri == f"archive:{PRODUCT_ID}.fits"
    assert files.key_of(PRODUCT_ID) == files.key_of(stored.uri) == f"archive/{PRODUCT_ID}.fits"
    assert b"".join([c async for c in files.store.chunks(files.key_of(PRODUCT_ID))]) == b"spectrum"


async def test_the_same_content_again_is_a_no_op_and_other_content_is_refused(tmp_path: Path, files: ArchiveFiles) -> None:
    first = await files.put(a_file(tmp_path, b"one"), "x.fits")
    assert await files.put(a_file(tmp_path, b"one", "copy.fits"), "x.fits") == first
    with pytest.raises(NameTaken):
        await files.put(a_file(tmp_path, b"two", "other.fits"), "x.fits")
    assert (tmp_path / "store" / "archive" / "x.fits").read_bytes() == b"one"
    assert [p.name for p in (tmp_path / "store" / "archive").iterdir()] == ["x.fits"], "no temporary file left behind"


@pytest.mark.parametrize("name", ["../secret.txt", "/etc/passwd", "a/b.fits", "..", ".hidden", "", "x\x00.fits", "archive:../x"])
def test_an_unsafe_name_has_no_key(name: str) -> None:
    assert ArchiveFiles.key_of(name) is None


async def test_an_unsafe_name_cannot_be_written(tmp_path: Path, files: ArchiveFiles) -> None:
    with pytest.raises(ValueError, match="invalid archive file name"):
        await files.put(a_file(tmp_path, b"x"), "../escape.fits")
