"""Pure parts of the simulator: line list, pixel mapping, FITS storage, headers, night plan."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time

from shared.errors import ConfigError
from shared.pipeline_install import oca_rules_file
from tests.unit.simulator.oca import classification_rules, classify, flatten
from tools.simulator import thar
from tools.simulator.detector import image_hdu, raw_from_rotated, read_out, rotated_from_raw, rotated_shape
from tools.simulator.headers import FrameKind, primary_header
from tools.simulator.instrument import BLUE_CHIP, REDL_CHIP, Arm, Setting, parse_setting
from tools.simulator.plan import night_plan, schedule
from tools.simulator.render import erf, gaussian_pixel_fraction

NIGHT = date(2024, 3, 1)


def test_vacuum_to_air_matches_the_iau_formula_at_h_alpha():
    assert thar.vacuum_to_air(np.array([6564.614]))[0] == pytest.approx(6562.801, abs=0.002)


def test_shipped_line_list_covers_uves_and_reference_lines_are_a_bright_subset():
    lines = thar.thar_lines()
    reference = thar.reference_lines()
    assert lines.wave_air.size > 15_000
    assert lines.wave_air.min() < 3100 and lines.wave_air.max() > 10_900
    assert np.all(np.diff(lines.wave_air) >= 0)
    assert 2_000 < reference.wave_air.size < lines.wave_air.size
    assert reference.amplitude.min() >= thar.REFERENCE_MIN_AMPLITUDE
    assert np.isin(reference.wave_air, lines.wave_air).all()


def test_line_refer_table_has_a_wave_column_in_air_angstrom(tmp_path):
    path = thar.write_line_refer_table(tmp_path / "ref.fits")
    table = fits.getdata(path, 1)
    assert "WAVE" in table.columns.names
    assert table["WAVE"].min() > 2900 and table["WAVE"].max() < 11_100


@pytest.mark.parametrize("arm", [Arm.BLUE, Arm.RED])
def test_rotated_frame_maps_to_raw_as_the_pipeline_loader_expects(arm):
    ny_rot, nx_rot = 6, 9  # rotated: Y across orders, X along dispersion
    rotated = np.arange(ny_rot * nx_rot, dtype=float).reshape(ny_rot, nx_rot)
    raw = raw_from_rotated(rotated, arm)
    n_rows, n_cols = raw.shape  # raw: NAXIS2 = X extent, cropped NAXIS1 = Y extent
    assert (n_rows, n_cols) == (nx_rot, ny_rot)
    x_rot, y_rot = 3, 5  # 1-based
    y_raw = n_rows - x_rot + 1
    x_c = y_rot if arm is Arm.BLUE else n_cols - y_rot + 1
    assert raw[y_raw - 1, x_c - 1] == rotated[y_rot - 1, x_rot - 1]
    assert np.array_equal(rotated_from_raw(raw, arm), rotated)


def test_raw_pixels_are_uint16_with_float_bscale_and_bzero(tmp_path):
    data = np.array([[0, 1, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "frame.fits"
    image_hdu(data, fits.Header(), primary=True).writeto(path)
    raw_cards = fits.getheader(path).cards
    assert isinstance(raw_cards["BSCALE"].value, float) and raw_cards["BSCALE"].image.split("=")[
        1
    ].strip().startswith("1.0")
    assert raw_cards["BZERO"].value == 32768.0 and raw_cards["BITPIX"].value == 16
    assert np.array_equal(fits.getdata(path), data)


def test_readout_has_bias_overscan_noise_and_saturates():
    setting = Setting(arm=Arm.BLUE, wlen_nm=390)
    shape = rotated_shape(BLUE_CHIP, setting)
    light = np.zeros(shape)
    light[100, 200] = 1e7
    raw = read_out(light, BLUE_CHIP, setting, 0.0, np.random.default_rng(1), cosmics=False)
    prescan = BLUE_CHIP.prescan // setting.binx
    assert raw.dtype == np.uint16
    assert raw.shape == (
        BLUE_CHIP.ny // setting.biny,
        prescan + BLUE_CHIP.nx // setting.binx + BLUE_CHIP.overscan // setting.binx,
    )
    overscan = raw[:, -BLUE_CHIP.overscan // setting.binx :].astype(float)
    assert abs(np.median(overscan) - BLUE_CHIP.bias_level_adu) < 5
    assert np.std(overscan) == pytest.approx(
        BLUE_CHIP.read_noise_electrons * BLUE_CHIP.gain_adu_per_electron, rel=0.2
    )
    assert raw.max() == 65535


def test_erf_and_pixel_fractions_are_accurate():
    assert erf(np.array([0.5]))[0] == pytest.approx(0.5204998778, abs=2e-7)
    fractions = gaussian_pixel_fraction(np.arange(-20, 21) + 0.3, 2.0)
    assert fractions.sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.esorex  # reads the rule file the pipeline package installs
def test_every_simulated_frame_is_classified_by_esos_own_rules():
    rules = classification_rules(oca_rules_file())
    plan = night_plan(NIGHT, "demo")
    expected = {
        FrameKind.BIAS: "BIAS",
        FrameKind.FORMAT_CHECK: "ARC_LAMP_FORM",
        FrameKind.ORDER_DEFINITION: "ORDER_FLAT",
        FrameKind.FLAT: "FLAT",
        FrameKind.WAVE: "ARC_LAMP",
        FrameKind.SCIENCE: "SCI_POINT",
    }
    for item in schedule(plan):
        exposure = item.exposure
        header = flatten(primary_header(exposure))
        want = f"{expected[exposure.kind]}_{exposure.setting.arm.value.upper()}"
        assert classify(header, rules) == want, exposure.arcfile


def test_night_is_ordered_unique_and_times_agree():
    items = schedule(night_plan(NIGHT, "demo", seed=4))
    starts = [item.exposure.start for item in items]
    assert starts == sorted(starts)
    assert len({item.exposure.arcfile for item in items}) == len(items)
    night_start = datetime(2024, 3, 1, 12)
    assert all(night_start <= start < night_start + timedelta(days=1) for start in starts)
    for item in items:
        header = primary_header(item.exposure)
        start = item.exposure.start
        assert header["MJD-OBS"] == pytest.approx(Time(header["DATE-OBS"], scale="utc").mjd, abs=1e-7)
        assert header["UTC"] == pytest.approx(
            start.hour * 3600 + start.minute * 60 + start.second + start.microsecond / 1e6
        )
        assert header["ARCFILE"] == f"UVES.{header['DATE-OBS']}.fits"
    science = [item for item in items if item.exposure.kind is FrameKind.SCIENCE]
    calibrations = [item for item in items if item.exposure.kind is FrameKind.FLAT]
    assert science and max(c.exposure.start for c in calibrations) < min(s.exposure.start for s in science)
    assert all(s.exposure.start.hour < 10 or s.exposure.start.hour >= 23 for s in science)


def test_red_frames_carry_both_chips_and_red_instrument_keywords():
    items = schedule(night_plan(NIGHT, "small"))
    red = next(
        item.exposure
        for item in items
        if item.exposure.setting.arm is Arm.RED and item.exposure.kind is FrameKind.WAVE
    )
    header = primary_header(red)
    assert header["HIERARCH ESO DET CHIPS"] == 2
    assert header["HIERARCH ESO DET CHIP2 ID"] == REDL_CHIP.chip_id
    assert header["HIERARCH ESO INS GRAT2 WLEN"] == 580.0 and header["HIERARCH ESO INS GRAT2 ID"] == "CD#3"
    assert "HIERARCH ESO INS SLIT3 WID" in header and "HIERARCH ESO INS TEMP2 MEAN" in header


def test_same_seed_same_plan_and_different_seed_different_targets():
    first = schedule(night_plan(NIGHT, "demo", seed=7))
    assert first == schedule(night_plan(NIGHT, "demo", seed=7))
    names = {
        tuple(i.exposure.object_name for i in schedule(night_plan(NIGHT, "demo", seed=s))) for s in range(5)
    }
    assert len(names) > 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"settings": ["blue999"]}, "unknown UVES setting"),
        ({"settings": ["green390"]}, "unknown UVES arm"),
        ({"binning": "3x3"}, "binning"),
        ({"arms": ["blue"], "settings": ["red580"]}, "no setting"),
        ({"targets": 99}, "between 0 and"),
        ({"preset": "huge"}, "unknown night preset"),
    ],
)
def test_bad_choices_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        night_plan(NIGHT, **kwargs)


def test_nights_before_the_two_chip_red_format_are_refused():
    with pytest.raises(ConfigError, match="post-2004"):
        night_plan(date(2003, 1, 1))


def test_settings_parse_with_or_without_arm():
    assert parse_setting("580", "1x1") == Setting(arm=Arm.RED, wlen_nm=580, binx=1, biny=1)
    assert parse_setting("Blue437", "2x2").cross_disperser == "CD#2"
    assert parse_setting("red860", "2x2").cross_disperser == "CD#4"
