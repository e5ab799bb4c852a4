"""Simulated stars: strong lines at literature strengths, weak lines at the injected velocity, tellurics, cosmic rays."""

from __future__ import annotations

import numpy as np
import pytest

from tools.simulator.detector import _add_cosmic_rays
from tools.simulator.instrument import BLUE_CHIP, Arm, Setting
from tools.simulator.spectra import SPEED_OF_LIGHT_KMS, STARS, absorption_lines, normalised_spectrum
from tools.simulator.stronglines import STRONG_LINES, line_depth
from tools.simulator.telluric import transmission

SUN_LIKE = next(star for star in STARS if star.name == "HD 146233")


def lines_of(star):
    return absorption_lines(np.random.default_rng([0, 3]), star.teff_k)


@pytest.mark.parametrize("name", ["H alpha", "H beta", "Ca I 4227", "Fe I 5270"])
def test_isolated_strong_lines_carry_their_literature_equivalent_width_in_the_spectrum(name):
    line = next(line for line in STRONG_LINES if line.name == name)
    star = SUN_LIKE.model_copy(update={"rv_kms": 0.0})
    half = line.half_window(star.teff_k)
    wave = np.linspace(line.wave_air - half, line.wave_air + half, 40_001)
    flux = normalised_spectrum(wave, star, lines_of(star), instrument_sigma_kms=3.0, airmass=1.0)
    width = float(np.sum(1.0 - flux) * (wave[1] - wave[0]))
    assert width == pytest.approx(line.equivalent_width(star.teff_k), rel=0.05)


@pytest.mark.parametrize("name", ["Na D2", "Mg b1", "Ca II K", "Ca II 8542"])
def test_each_strong_line_profile_has_its_equivalent_width_and_core_depth(name):
    line = next(line for line in STRONG_LINES if line.name == name)
    half = line.half_window(SUN_LIKE.teff_k)
    wave = np.linspace(line.wave_air - half, line.wave_air + half, 400_001)
    depth = line_depth(line, SUN_LIKE.teff_k, wave)
    assert float(np.sum(depth) * (wave[1] - wave[0])) == pytest.approx(line.equivalent_width(SUN_LIKE.teff_k), rel=0.02)
    assert depth.max() == pytest.approx(line.core_depth, abs=0.01)


def test_weak_lines_sit_at_the_injected_velocity():
    star = STARS[0]
    lines = lines_of(star)
    velocities = []
    for rest, depth in zip(lines.rest_air_angstrom, lines.depths, strict=True):
        if depth < 0.6 or not 5000 < rest < 5100:
            continue
        centre = rest * (1.0 + star.rv_kms / SPEED_OF_LIGHT_KMS)
        wave = np.linspace(centre - 0.15, centre + 0.15, 601)
        absorbed = 1.0 - normalised_spectrum(wave, star, lines, instrument_sigma_kms=3.0, airmass=1.0)
        found = float(np.sum(wave * absorbed) / np.sum(absorbed))
        velocities.append((found / centre - 1.0) * SPEED_OF_LIGHT_KMS)
    assert len(velocities) >= 3
    assert abs(float(np.median(velocities))) < 0.02


def test_telluric_bands_deepen_with_airmass_and_leave_the_blue_alone():
    wave = np.linspace(7594.0, 7700.0, 20_000)
    assert transmission(wave, 2.0).min() < transmission(wave, 1.0).min() < 0.2
    assert np.all(transmission(np.linspace(4000.0, 5000.0, 1000), 2.0) == 1.0)


def test_cosmic_rays_leave_tracks_at_the_expected_rate():
    setting = Setting(arm=Arm.BLUE, wlen_nm=390, binx=1, biny=1)
    image = np.zeros((BLUE_CHIP.nx, BLUE_CHIP.ny))
    _add_cosmic_rays(image, BLUE_CHIP, setting, 1200.0, np.random.default_rng(0))
    hit = image > 30.0
    expected_events = 0.025 * BLUE_CHIP.nx * BLUE_CHIP.ny * (15e-4) ** 2 * 1200.0
    assert 3.0 < hit.sum() / expected_events < 15.0  # pixels per event: tracks, not single pixels
