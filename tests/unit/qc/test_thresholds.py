from datetime import date
from pathlib import Path

import pytest

from services.qc.service import load_all_thresholds
from services.qc.thresholds import FirstMatch, load_thresholds
from shared.errors import ConfigError

TWO_SETS = """
instrument_mode = "UVES_ECHELLE"

[[sets]]
version = "old"
valid_from = 2004-04-01
valid_to = 2010-01-01

[[sets.thresholds]]
applies_to = ["MASTER_BIAS_*"]
parameter = "QC.OUT1.RON.MASTER"
high = 6.0

[[sets]]
version = "new"
valid_from = 2010-01-01

[[sets.thresholds]]
applies_to = ["MASTER_BIAS_*"]
parameter = "QC.OUT1.RON.MASTER"
high = 4.0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "qc_thresholds.toml"
    path.write_text(text)
    return path


def test_a_night_is_scored_with_the_set_valid_for_it(tmp_path):
    rules = load_thresholds(write(tmp_path, TWO_SETS))
    assert rules.select(date(2004, 4, 1)).version == "old"
    assert rules.select(date(2009, 12, 31)).version == "old"
    assert rules.select(date(2010, 1, 1)).version == "new"
    assert rules.select(date(2003, 1, 1)) is None


def test_a_named_release_set_wins_over_the_night(tmp_path):
    rules = load_thresholds(write(tmp_path, TWO_SETS))
    assert rules.select(date(2024, 1, 1), release_set="old").version == "old"
    assert rules.select(date(2024, 1, 1), release_set="unknown") is None


def test_a_broken_threshold_names_its_file_and_line(tmp_path):
    broken = TWO_SETS.replace("high = 4.0", "high = \"four\"")
    with pytest.raises(ConfigError) as error:
        load_thresholds(write(tmp_path, broken))
    line = broken.splitlines().index('high = "four"') + 1
    assert f"qc_thresholds.toml:{line}:" in str(error.value)
    assert "sets.1.thresholds.0.high" in str(error.value)


def test_a_fixed_threshold_without_a_range_names_its_table(tmp_path):
    broken = TWO_SETS.replace("high = 6.0\n", "")
    with pytest.raises(ConfigError) as error:
        load_thresholds(write(tmp_path, broken))
    header = [i for i, line in enumerate(broken.splitlines(), 1) if line == "[[sets.thresholds]]"][0]
    assert f":{header + 1}:" in str(error.value) or f":{header}:" in str(error.value)


def test_toml_syntax_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"qc_thresholds.toml: .*line 2"):
        load_thresholds(write(tmp_path, "instrument_mode = 'X'\n[[sets]\n"))


def test_the_shipped_threshold_files_load():
    rules = load_all_thresholds()["UVES_ECHELLE"]
    assert rules.select(date(2024, 3, 1)) is not None
    assert rules.nominal_range("390") is not None


SETTING_SPECIFIC = """
instrument_mode = "UVES_ECHELLE"

[[sets]]
version = "s"
valid_from = 2004-04-01

[[sets.thresholds]]
applies_to = ["MASTER_FLAT_REDU"]
when = { "INS.GRAT2.WLEN" = "860" }
parameter = "PRO.DATAMED"
low = 0.05

[[sets.thresholds]]
applies_to = ["MASTER_FLAT_*"]
parameter = "PRO.DATAMED"
low = 15.0

[[sets.thresholds]]
applies_to = ["MASTER_FLAT_*"]
when = { "INS.GRAT2.WLEN" = "860" }
parameter = "PRO.DATAMED"
low = 99.0
"""


def test_a_setting_specific_threshold_replaces_the_general_one_for_that_setting_only(tmp_path):
    thresholds = load_thresholds(write(tmp_path, SETTING_SPECIFIC)).sets[0]
    red860 = thresholds.for_setting({"INS.GRAT2.WLEN": "860", "INS.MODE": "RED"})
    assert [t.low for t in red860.for_product("FLAT_RED", "MASTER_FLAT_REDU")] == [0.05, 15.0]
    assert [t.low for t in red860.for_product("FLAT_RED", "MASTER_FLAT_REDL")] == [15.0], \
        "of two for the same parameter and products, the first listed"
    red580 = thresholds.for_setting({"INS.GRAT2.WLEN": "580"})
    assert [t.low for t in red580.thresholds] == [15.0]
    assert [t.low for t in thresholds.for_setting({}).thresholds] == [15.0], "a setting without the keyword"


def test_the_shipped_format_check_limit_follows_the_binning_of_the_ab():
    shipped = load_all_thresholds()["UVES_ECHELLE"].select(date(2024, 3, 1))

    def limit(binx: str) -> float | None:
        [threshold] = [t for t in shipped.for_setting({"DET.WIN1.BINX": binx, "INS.GRAT1.WLEN": "390"})
                       .for_product("ARC_LAMP_FORM_BLUE", "LINE_GUESS_TAB_BLUE") if t.parameter == "QC.MODEL.DIFFXRMS"]
        return threshold.high

    assert (limit("1"), limit("2")) == (8.0, 4.0)


def test_the_first_matching_pattern_wins_whether_plain_or_wildcard():
    lookup = FirstMatch([("QC.A", 1), ("QC.*", 2), ("QC.B", 3), ("QC.A", 4), ("QC.C?", 5)])
    assert [lookup.first(name) for name in ("QC.A", "QC.B", "QC.C1", "OTHER")] == [1, 2, 2, None]
    assert FirstMatch([("QC.B", 3), ("QC.[AB]", 6)]).first("QC.A") == 6
