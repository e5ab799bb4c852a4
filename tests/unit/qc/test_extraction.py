import numpy as np
import pytest

from services.qc.extraction import (
    SPEED_OF_LIGHT_KMS,
    Spectrum,
    Truth,
    coverage,
    cross_correlation_rv,
    header_qc,
    median_snr,
    saturated_fraction,
    spectrum_measurements,
)


def synthetic(rv_kms: float = 12.0, snr: float = 100.0, seed: int = 1) -> tuple[Spectrum, Truth]:
    """A 500–520 nm spectrum: flat continuum, 40 Gaussian absorption lines at R = 40000, shifted by rv."""
    rng = np.random.default_rng(seed)
    wave = np.arange(500.0, 520.0, 0.004)
    rest = np.sort(rng.uniform(5005.0, 5195.0, 40))
    depths = rng.uniform(0.3, 0.8, 40)
    flux = np.ones(wave.size)
    for line, depth in zip(rest, depths):
        centre = line * (1 + rv_kms / SPEED_OF_LIGHT_KMS) / 10.0
        sigma = centre / 40_000 / 2.3548
        flux *= 1 - depth * np.exp(-0.5 * ((wave - centre) / sigma) ** 2)
    flux = 1000.0 * flux + rng.normal(0, 1000.0 / snr, wave.size)
    quality = np.zeros(wave.size, dtype=int)
    quality[:100] = 4
    return (Spectrum(wave, flux, np.full(wave.size, 1000.0 / snr), quality),
            Truth(rv_kms, tuple(rest), tuple(depths)))


def test_the_radial_velocity_comes_back_from_the_injected_lines():
    spectrum, truth = synthetic(rv_kms=12.0)
    assert cross_correlation_rv(spectrum, truth, 40_000) == pytest.approx(12.0, abs=0.2)


def test_science_measurements_of_an_sdp_spectrum():
    spectrum, truth = synthetic()
    found = {m.parameter: m.value for m in spectrum_measurements("sdp.fits", "X", spectrum, (500.0, 525.0), truth, 40_000)}
    assert found["SDP.FLAGGED.FRACTION"] == pytest.approx(100 / spectrum.wave_nm.size)
    assert found["SDP.WAVE.COVERAGE"] == pytest.approx((520.0 - 500.4) / 25.0, abs=0.01)
    assert found["SDP.CONTINUUM.LEVEL"] == pytest.approx(1000.0, rel=0.05)
    assert abs(found["SDP.RV.OFFSET"]) < 0.2
    assert 60 < found["SDP.SNR.MEDIAN"] < 101


def test_a_spectrum_without_good_pixels_gives_no_numbers_not_a_crash():
    spectrum = Spectrum(np.arange(10.0), np.zeros(10), np.zeros(10), np.ones(10, dtype=int))
    assert median_snr(spectrum) is None
    assert coverage(spectrum, (0.0, 10.0)) == 0.0
    found = {m.parameter: m.value for m in spectrum_measurements("s", "X", spectrum, None, None, 40_000)}
    assert found["SDP.FLAGGED.FRACTION"] == 1.0 and found["SDP.WAVE.MIN"] is None


def test_pipeline_qc_keywords_come_dotted_from_the_header():
    header = {"ESO QC OUT1 RON MASTER": 1.8, "ESO PRO DATAMED": 178.0, "ESO DET CHIP1 ID": "x", "EXPTIME": 0.0}
    assert header_qc(header) == {"QC.OUT1.RON.MASTER": 1.8, "PRO.DATAMED": 178.0}


def test_the_saturated_fraction_is_the_worst_image():
    low, high = np.zeros((10, 10)), np.zeros((10, 10))
    high[:2] = 65535
    assert saturated_fraction([low, high], 65535) == pytest.approx(0.2)
    assert saturated_fraction([], 65535) is None
