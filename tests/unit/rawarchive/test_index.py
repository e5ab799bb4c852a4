from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path

from tests.unit.rawarchive.synthetic import write_raw
from tools.archive.store import RawStore, load_night_index

NIGHT = date(2024, 3, 1)
FIRST = "UVES.2024-03-01T23:04:07.680.fits"
SECOND = "UVES.2024-03-02T01:10:00.000.fits"


def _night_dir(root: Path) -> Path:
    return root / "raw" / "UVES" / NIGHT.isoformat()


def _forge_cached_md5(root: Path, arcfile: str, md5: str) -> None:
    """Changes a cached value without touching size or mtime: only a cache hit can return it."""
    index_path = _night_dir(root) / ".phoenix-index.json"
    index = json.loads(index_path.read_text())
    index["entries"][arcfile]["info"]["md5"] = md5
    index_path.write_text(json.dumps(index))


def test_listing_writes_an_index_with_every_frame(tmp_path: Path) -> None:
    first = write_raw(tmp_path, NIGHT.isoformat(), FIRST)
    write_raw(tmp_path, NIGHT.isoformat(), SECOND)

    listing = RawStore(tmp_path).list_night("UVES", NIGHT)

    assert [info.arcfile for info in listing] == [FIRST, SECOND]
    assert listing[0].sha256 == hashlib.sha256(first.read_bytes()).hexdigest()
    assert set(load_night_index(_night_dir(tmp_path)).entries) == {FIRST, SECOND}


def test_unchanged_files_are_served_from_the_index(tmp_path: Path) -> None:
    write_raw(tmp_path, NIGHT.isoformat(), FIRST)
    store = RawStore(tmp_path)
    store.list_night("UVES", NIGHT)
    _forge_cached_md5(tmp_path, FIRST, "0" * 32)

    assert store.list_night("UVES", NIGHT)[0].md5 == "0" * 32


def test_a_changed_mtime_invalidates_the_entry(tmp_path: Path) -> None:
    path = write_raw(tmp_path, NIGHT.isoformat(), FIRST)
    store = RawStore(tmp_path)
    store.list_night("UVES", NIGHT)
    _forge_cached_md5(tmp_path, FIRST, "0" * 32)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    assert store.list_night("UVES", NIGHT)[0].md5 == hashlib.md5(path.read_bytes()).hexdigest()


def test_a_changed_size_invalidates_the_entry(tmp_path: Path) -> None:
    path = write_raw(tmp_path, NIGHT.isoformat(), FIRST)
    store = RawStore(tmp_path)
    store.list_night("UVES", NIGHT)
    stat = path.stat()
    path.write_bytes(path.read_bytes()[:2880])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: size alone must do

    info = store.list_night("UVES", NIGHT)[0]

    assert info.size_bytes == 2880 and info.error is not None


def test_deleted_files_leave_the_index(tmp_path: Path) -> None:
    write_raw(tmp_path, NIGHT.isoformat(), FIRST)
    write_raw(tmp_path, NIGHT.isoformat(), SECOND).unlink()
    store = RawStore(tmp_path)
    store.list_night("UVES", NIGHT)

    assert set(load_night_index(_night_dir(tmp_path)).entries) == {FIRST}


def test_an_unreadable_index_is_rebuilt(tmp_path: Path) -> None:
    write_raw(tmp_path, NIGHT.isoformat(), FIRST)
    (_night_dir(tmp_path) / ".phoenix-index.json").write_text("{ torn")

    assert [info.arcfile for info in RawStore(tmp_path).list_night("UVES", NIGHT)] == [FIRST]
    assert set(load_night_index(_night_dir(tmp_path)).entries) == {FIRST}


def test_a_night_whose_index_cannot_be_written_still_lists(tmp_path: Path) -> None:
    write_raw(tmp_path, NIGHT.isoformat(), FIRST)
    (_night_dir(tmp_path) / ".phoenix-index.json").mkdir()  # neither readable nor replaceable as a file

    assert [info.arcfile for info in RawStore(tmp_path).list_night("UVES", NIGHT)] == [FIRST]


def test_truth_files_and_hidden_files_are_not_frames(tmp_path: Path) -> None:
    write_raw(tmp_path, NIGHT.isoformat(), FIRST)
    (_night_dir(tmp_path) / FIRST.replace(".fits", ".truth.json")).write_text("{}")
    (_night_dir(tmp_path) / ".partial.fits").write_bytes(b"")

    assert [info.arcfile for info in RawStore(tmp_path).list_night("UVES", NIGHT)] == [FIRST]
