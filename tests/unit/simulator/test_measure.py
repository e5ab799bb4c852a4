"""The RV measurement the accuracy checks rely on, on synthetic spectra with a known velocity shift."""

from __future__ import annotations

import numpy as np
import pytest

from tests.integration.simulator.measure import SPEED_OF_LIGHT_KMS, Spectrum, measure_rv

RESOLVING_POWER = 45_000.0
SHIFT_KMS = 0.015


def synthetic(rv_kms: float, snr: float, rng: np.random.Generator) -> tuple[Spectrum, list[float]]:
    """A continuum with 120 Gaussian lines (3300-4500 Å, depths 0.2-0.6, broader than the instrument),
    sampled at 2/3 of a pixel of a 3.3-pixel resolution element, with Gaussian noise of 1/snr."""
    rest = np.sort(rng.uniform(3320.0, 4480.0, 120))
    wave = np.arange(3300.0, 4500.0, 3900.0 / RESOLVING_POWER / 3.3 * 2.0 / 3.0)
    flux = np.ones(wave.size)
    doppler = 1.0 + rv_kms / SPEED_OF_LIGHT_KMS
    for line, depth in zip(rest, rng.uniform(0.2, 0.6, rest.size), strict=True):
        sigma = 1.2 * line / RESOLVING_POWER / 2.3548
        flux *= 1.0 - depth * np.exp(-0.5 * ((wave - line * doppler) / sigma) ** 2)
    noise = rng.normal(0.0, 1.0 / snr, wave.size) if np.isfinite(snr) else 0.0
    return Spectrum(wave, flux + noise, np.full(wave.size, 1.0 / snr if np.isfinite(snr) else 1e-3)), rest.tolist()


def test_a_noiseless_shift_of_15_m_s_comes_back_within_2_m_s():
    spectrum, rest = synthetic(SHIFT_KMS, np.inf, np.random.default_rng(1))
    rv = measure_rv(spectrum, rest, 0.0, RESOLVING_POWER)
    assert rv.used >= 100
    assert rv.rv_kms == pytest.approx(SHIFT_KMS, abs=0.002)


def test_with_noise_the_shift_comes_back_within_its_error_and_the_error_is_honest():
    rng = np.random.default_rng(2)
    results = [measure_rv(*synthetic(SHIFT_KMS, 200.0, rng), 0.0, RESOLVING_POWER) for _ in range(4)]
    errors = np.array([rv.error_kms for rv in results])
    offsets = np.array([rv.rv_kms - SHIFT_KMS for rv in results])
    assert errors.max() < 0.010
    assert np.all(np.abs(offsets) < 4.0 * errors)
    assert np.std(offsets) < 2.0 * errors.mean()  # the scatter of the results is what the errors say


def test_flagged_pixels_and_lines_outside_the_spectrum_are_left_out():
    spectrum, rest = synthetic(SHIFT_KMS, np.inf, np.random.default_rng(3))
    spectrum.error[: spectrum.error.size // 2] = 0.0
    rv = measure_rv(spectrum, [*rest, 2000.0, 9000.0], 0.0, RESOLVING_POWER)
    assert rv.rv_kms == pytest.approx(SHIFT_KMS, abs=0.002)
    assert all(line.rest > 3899.5 for line in rv.lines)
