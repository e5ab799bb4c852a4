"""Simulated UVES nights in a raw-data archive folder, for tests that run the whole chain."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from tools.simulator.plan import night_plan
from tools.simulator.uves import archive_night_folder, install_static_calibrations, simulate_night

SMALL_NIGHT = date(2024, 3, 1)


def simulate_into_archive(root: Path, night: date = SMALL_NIGHT, preset: str = "small", seed: int = 11,
                          arms: list[str] | None = None) -> Path:
    """An archive folder (raw/ and calib/) holding one simulated night and the static calibrations."""
    plan = night_plan(night=night, preset=preset, seed=seed, arms=arms)
    simulate_night(plan, archive_night_folder(root, plan))
    install_static_calibrations(root)
    return root


def simulate_blue_night(root: Path, night: date = SMALL_NIGHT, seed: int = 11) -> Path:
    """An archive folder with one small simulated night, blue arm only (6 ABs in COMPLETE mode)."""
    return simulate_into_archive(root, night, seed=seed, arms=["blue"])


def archive_copy(source: Path, target: Path) -> Path:
    """A private copy of an archive (files hard-linked), so a test may fill its calibration store."""
    shutil.copytree(source, target, copy_function=os.link)
    return target


@pytest.fixture(scope="session")
def small_night_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small simulated night (2x2, blue 390 + red 580, one target); never modify it: copy it."""
    return simulate_into_archive(tmp_path_factory.mktemp("small-night") / "archive")


@pytest.fixture(scope="session")
def small_night_raw(small_night_archive: Path) -> Path:
    """The small night's raw folder (its frames and truth files); never modify it."""
    return small_night_archive / "raw" / "UVES" / SMALL_NIGHT.isoformat()


@pytest.fixture
def archive(small_night_archive: Path, tmp_path: Path) -> Path:
    """This test's own copy of the small night's archive, with an empty calibration store."""
    return archive_copy(small_night_archive, tmp_path / "archive")


@pytest.fixture(scope="session")
def blue_night_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small night, blue arm only (one setting, one target: 6 ABs); never modify it: copy it.
    The cheapest whole night: tests whose claim does not depend on the red arm's two chips use it."""
    return simulate_blue_night(tmp_path_factory.mktemp("blue-night") / "archive")


@pytest.fixture
def blue_archive(blue_night_archive: Path, tmp_path: Path) -> Path:
    """This test's own copy of the blue night's archive, with an empty calibration store."""
    return archive_copy(blue_night_archive, tmp_path / "archive")
