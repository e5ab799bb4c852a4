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


def simulate_into_archive(root: Path, night: date = SMALL_NIGHT, preset: str = "small", seed: int = 11) -> Path:
    """An archive folder (raw/ and calib/) holding one simulated night and the static calibrations."""
    plan = night_plan(night=night, preset=preset, seed=seed)
    simulate_night(plan, archive_night_folder(root, plan))
    install_static_calibrations(root)
    return root


def archive_copy(source: Path, target: Path) -> Path:
    """A private copy of an archive (files hard-linked), so a test may fill its calibration store."""
    shutil.copytree(source, target, copy_function=os.link)
    return target


@pytest.fixture(scope="session")
def small_night_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small simulated night (2x2, blue 390 + red 580, one target); never modify it: copy it."""
    return simulate_into_archive(tmp_path_factory.mktemp("small-night") / "archive")


@pytest.fixture
def archive(small_night_archive: Path, tmp_path: Path) -> Path:
    """This test's own copy of the small night's archive, with an empty calibration store."""
    return archive_copy(small_night_archive, tmp_path / "archive")
