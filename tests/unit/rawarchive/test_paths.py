from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.unit.rawarchive.synthetic import write_raw
from tools.archive.store import NotFound, RawStore, is_safe_file_name, night_of_mjd, resolve_inside

ARCFILE = "UVES.2024-03-01T23:04:07.680.fits"


@pytest.mark.parametrize("name", [ARCFILE, "UVES_MBIAS_BLUE_1x1.fits", "a+b-c.fits"])
def test_bare_file_names_are_safe(name: str) -> None:
    assert is_safe_file_name(name)


@pytest.mark.parametrize(
    "name",
    ["", "..", "../etc/passwd", "..%2Fetc", "a/b.fits", "/etc/passwd", "a\\b.fits", ".hidden.fits",
     "x..fits", "a\x00.fits", "a b.fits"],
)
def test_names_that_could_address_something_else_are_not(name: str) -> None:
    assert not is_safe_file_name(name)


def test_resolve_inside_refuses_escapes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "raw").mkdir(parents=True)
    (root / "raw" / "out").symlink_to(tmp_path)

    assert resolve_inside(root, "raw") == (root / "raw").resolve()
    assert resolve_inside(root, "..", "x") is None
    assert resolve_inside(root, "/etc/passwd") is None
    assert resolve_inside(root, "raw", "out", "secret") is None


def test_find_locates_a_frame_in_any_night(tmp_path: Path) -> None:
    path = write_raw(tmp_path, "2024-02-27", ARCFILE)  # not the night its name suggests

    found, info = RawStore(tmp_path).find(ARCFILE)

    assert found == path.resolve()
    assert info.night == date(2024, 2, 27) and info.arcfile == ARCFILE


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..", "UVES.x.truth.json", "missing.fits"])
def test_find_refuses_unsafe_or_unknown_names(tmp_path: Path, name: str) -> None:
    write_raw(tmp_path, "2024-03-01", ARCFILE)
    with pytest.raises(NotFound):
        RawStore(tmp_path).find(name)


def test_symlink_leaving_the_root_is_neither_listed_nor_found(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = write_raw(tmp_path / "elsewhere", "2024-03-01", "UVES.2024-03-01T23:59:00.000.fits")
    write_raw(root, "2024-03-01", ARCFILE)
    (root / "raw" / "UVES" / "2024-03-01" / outside.name).symlink_to(outside)
    store = RawStore(root)

    assert [info.arcfile for info in store.list_night("UVES", date(2024, 3, 1))] == [ARCFILE]
    with pytest.raises(NotFound):
        store.find(outside.name)


def test_symlinked_night_folder_leaving_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside_night = write_raw(tmp_path / "elsewhere", "2024-03-02", "UVES.2024-03-02T23:00:00.000.fits").parent
    (root / "raw" / "UVES").mkdir(parents=True)
    (root / "raw" / "UVES" / "2024-03-02").symlink_to(outside_night)
    store = RawStore(root)

    assert store.list_night("UVES", date(2024, 3, 2)) == []
    with pytest.raises(NotFound):
        store.find("UVES.2024-03-02T23:00:00.000.fits")


def test_instrument_names_cannot_climb_out(tmp_path: Path) -> None:
    write_raw(tmp_path / "root", "2024-03-01", ARCFILE)
    (tmp_path / "2024-03-01").mkdir()
    assert RawStore(tmp_path / "root").list_night("../..", date(2024, 3, 1)) == []


@pytest.mark.parametrize(
    ("mjd", "night"),
    [(60370.96, date(2024, 3, 1)), (60371.40, date(2024, 3, 1)), (60371.51, date(2024, 3, 2))],
)
def test_night_runs_noon_to_noon_utc(mjd: float, night: date) -> None:
    assert night_of_mjd(mjd, 12.0) == night
