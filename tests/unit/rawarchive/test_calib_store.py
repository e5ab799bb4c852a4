from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.unit.rawarchive.synthetic import write_master
from tools.archive.settings import UVES_SETTING_KEYS
from tools.archive.store import CalibStore, Conflict, InvalidUpload


def _store(root: Path) -> CalibStore:
    return CalibStore(root, UVES_SETTING_KEYS, night_start_hour_utc=12.0)


def _staged(store: CalibStore, master: Path) -> Path:
    staged = store.new_staging_path()
    shutil.copyfile(master, staged)
    return staged


def test_register_moves_the_upload_into_the_store(tmp_path: Path) -> None:
    store = _store(tmp_path / "root")
    master = write_master(tmp_path / "MB.fits", "MASTER_BIAS_BLUE")
    staged = _staged(store, master)

    info, created = store.register("MB.fits", staged)

    assert created and info.name == "MB" and not staged.exists()
    assert (tmp_path / "root" / "calib" / "UVES" / "MB.fits").read_bytes() == master.read_bytes()


@pytest.mark.parametrize(
    ("changes", "replaced"),
    [
        ({}, True),
        ({"DET.WIN1.BINX": 2}, False),
        ({"DET.READ.SPEED": "225kHz/1pt/low"}, False),
        ({"mjd_obs": 60372.2}, False),
        ({"pro_catg": "MASTER_BIAS_REDL"}, False),
    ],
)
def test_only_the_same_category_setting_and_night_is_replaced(
    tmp_path: Path, changes: dict[str, object], replaced: bool
) -> None:
    store = _store(tmp_path / "root")
    store.register("OLD", _staged(store, write_master(tmp_path / "old.fits", "MASTER_BIAS_BLUE", seed=1)))
    pro_catg = str(changes.pop("pro_catg", "MASTER_BIAS_BLUE"))
    mjd_obs = float(changes.pop("mjd_obs", 60371.2))
    new_master = write_master(tmp_path / "new.fits", pro_catg, mjd_obs=mjd_obs, seed=2, **changes)

    new, _ = store.register("NEW", _staged(store, new_master))

    statuses = {info.name: info.status for info in store.list("UVES", include_retired=True)}
    assert statuses == {"OLD": "retired" if replaced else "current", "NEW": "current"}
    assert new.replaces == ("OLD" if replaced else None)


def test_a_name_is_unique_across_instruments(tmp_path: Path) -> None:
    store = _store(tmp_path / "root")
    store.register("MB", _staged(store, write_master(tmp_path / "a.fits", "MASTER_BIAS_BLUE")))
    giraffe = write_master(tmp_path / "b.fits", "MASTER_BIAS", INSTRUME="GIRAFFE")

    with pytest.raises(Conflict, match="UVES"):
        store.register("MB", _staged(store, giraffe))


def test_instrument_must_agree_with_the_header(tmp_path: Path) -> None:
    store = _store(tmp_path / "root")
    staged = _staged(store, write_master(tmp_path / "a.fits", "MASTER_BIAS_BLUE"))

    with pytest.raises(InvalidUpload, match="INSTRUME"):
        store.register("MB", staged, instrument="GIRAFFE")
    assert not staged.exists()


def test_a_file_deleted_by_hand_leaves_the_registry(tmp_path: Path) -> None:
    store = _store(tmp_path / "root")
    store.register("MB", _staged(store, write_master(tmp_path / "a.fits", "MASTER_BIAS_BLUE")))
    (tmp_path / "root" / "calib" / "UVES" / "MB.fits").unlink()

    assert store.list("UVES", include_retired=True) == []


def test_hand_copied_masters_are_adopted_oldest_first(tmp_path: Path) -> None:
    calib_dir = tmp_path / "root" / "calib" / "UVES"
    older = write_master(calib_dir / "MB_OLD.fits", "MASTER_BIAS_BLUE", seed=1)
    newer = write_master(calib_dir / "MB_NEW.fits", "MASTER_BIAS_BLUE", seed=2)
    os.utime(older, ns=(0, 1_000_000_000))
    os.utime(newer, ns=(0, 2_000_000_000))

    assert [(info.name, info.status) for info in _store(tmp_path / "root").list("UVES", include_retired=True)] == [
        ("MB_NEW", "current"), ("MB_OLD", "retired"),
    ]
