"""The archive store: stable names, never overwritten, never resolved outside its root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.archive.files import ArchiveFiles, NameTaken

PRODUCT_ID = "PHX.2026-11-24T18:00:00.123.1"


@pytest.fixture
def files(tmp_path: Path) -> ArchiveFiles:
    return ArchiveFiles(tmp_path / "archive")


def a_file(tmp_path: Path, content: bytes, name: str = "source.fits") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_product_is_found_by_its_id_and_by_its_uri(tmp_path: Path, files: ArchiveFiles) -> None:
    stored = files.put(a_file(tmp_path, b"spectrum"), f"{PRODUCT_ID}.fits")
    assert stored.uri == f"archive:{PRODUCT_ID}.fits"
    assert files.path_of(PRODUCT_ID) == files.root / f"{PRODUCT_ID}.fits"
    assert files.path_of(stored.uri) == files.root / f"{PRODUCT_ID}.fits"
    assert files.path_of(f"{PRODUCT_ID}.fits").read_bytes() == b"spectrum"


def test_the_same_content_again_is_a_no_op_and_other_content_is_refused(tmp_path: Path, files: ArchiveFiles) -> None:
    first = files.put(a_file(tmp_path, b"one"), "x.fits")
    assert files.put(a_file(tmp_path, b"one", "copy.fits"), "x.fits") == first
    with pytest.raises(NameTaken):
        files.put(a_file(tmp_path, b"two", "other.fits"), "x.fits")
    assert (files.root / "x.fits").read_bytes() == b"one"
    assert [p.name for p in files.root.iterdir()] == ["x.fits"], "no temporary file left behind"


@pytest.mark.parametrize(
    "name", ["../secret.txt", "/etc/passwd", "a/b.fits", "..", ".hidden", "", "x\x00.fits", "archive:../x", "missing.fits"]
)
def test_nothing_outside_the_root_or_missing_is_ever_resolved(tmp_path: Path, files: ArchiveFiles, name: str) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    files.put(a_file(tmp_path, b"x"), "x.fits")
    assert files.path_of(name) is None


def test_a_symlink_leading_out_is_not_followed(tmp_path: Path, files: ArchiveFiles) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    files.root.mkdir(parents=True)
    os.symlink(tmp_path / "secret.txt", files.root / "link.fits")
    assert files.path_of("link.fits") is None


def test_an_unsafe_name_cannot_be_written(tmp_path: Path, files: ArchiveFiles) -> None:
    with pytest.raises(ValueError, match="invalid archive file name"):
        files.put(a_file(tmp_path, b"x"), "../escape.fits")
