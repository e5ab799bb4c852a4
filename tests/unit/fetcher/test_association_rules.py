"""The UVES_ECHELLE association rules load, and a broken rule file is refused naming its line."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from shared.errors import ConfigError, DataError
from shared.instruments import mode_dir
from shared.instruments.association import ASSOCIATION_FILE, load_association_file, load_association_rules

REAL_FILE = mode_dir("UVES_ECHELLE") / ASSOCIATION_FILE


def test_the_uves_echelle_rules_load_with_recipe_inputs_of_the_pipeline() -> None:
    rule_set = load_association_rules("UVES_ECHELLE").rule_set_for(date(2024, 3, 1))

    needs = {rule.raw_type: {c.pro_catg for c in rule.calibrations if c.required} for rule in rule_set.raw_types}
    assert needs["FLAT_BLUE"] == {"MASTER_BIAS_BLUE", "ORDER_TABLE_BLUE"}
    assert needs["ARC_LAMP_BLUE"] == {"ORDER_TABLE_BLUE", "LINE_GUESS_TAB_BLUE", "LINE_REFER_TABLE"}
    assert needs["SCI_POINT_BLUE"] == {"ORDER_TABLE_BLUE", "LINE_TABLE_BLUE", "MASTER_BIAS_BLUE", "MASTER_FLAT_BLUE"}
    assert needs["SCI_POINT_RED"] == {f"{catg}_{chip}" for catg in ("ORDER_TABLE", "LINE_TABLE", "MASTER_BIAS",
                                                                    "MASTER_FLAT") for chip in ("REDL", "REDU")}
    assert rule_set.producers["LINE_GUESS_TAB_REDU"].recipe == "uves_cal_predict"
    order = [rule.raw_type for rule in rule_set.dependency_order if rule.raw_type.endswith("_BLUE")]
    assert order == ["BIAS_BLUE", "DARK_BLUE", "ARC_LAMP_FORM_BLUE", "ORDER_FLAT_BLUE", "FLAT_BLUE",
                     "ARC_LAMP_BLUE", "SCI_POINT_BLUE"]


def test_no_rule_set_before_the_post_2004_format() -> None:
    with pytest.raises(DataError, match="no UVES_ECHELLE association rule set is valid on 2003-01-01"):
        load_association_rules("UVES_ECHELLE").rule_set_for(date(2003, 1, 1))


def _broken_copy(tmp_path: Path, old: str, new: str, count: int = 1) -> tuple[Path, int]:
    """A copy of the real file with one edit, and the line number the edit lands on."""
    text = REAL_FILE.read_text()
    assert old in text
    position = text.index(old)
    path = tmp_path / ASSOCIATION_FILE
    path.write_text(text.replace(old, new, count))
    return path, text.count("\n", 0, position) + 1


def _error_line(error: pytest.ExceptionInfo[ConfigError], path: Path) -> int:
    text = str(error.value)
    assert text.startswith(str(path)), text
    match = re.match(rf"{re.escape(str(path))}:(\d+)", text) or re.search(r"\(at line (\d+)", text)
    assert match, text
    return int(match.group(1))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('match = "flat_blue"', 'match = "flat_bleu"', "unknown key set 'flat_bleu'"),
        ('relaxable = ["DET.READ.SPEED"]', 'relaxable = ["INS.SLIT2.WID"]', "relaxable key INS.SLIT2.WID is not"),
        ('valid_from = 2004-04-01', 'valid_from = "the old days"', "valid_from"),
        ('  products = ["LINE_TABLE_BLUE"]', '  products = ["LINE_TABLE_BLUE", "MASTER_FLAT_BLUE"]',
         "MASTER_FLAT_BLUE is made by two raw types"),
        ('recipe = "uves_cal_mbias"', 'recipe = uves_cal_mbias', "Invalid value"),
    ],
)
def test_a_broken_rule_file_names_the_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    path, line = _broken_copy(tmp_path, old, new)
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        load_association_file(path)
    if "made by two" not in message:  # that one points at the first mention of the product
        assert _error_line(error, path) == line


def test_a_calibration_without_keys_must_be_a_declared_static_one(tmp_path: Path) -> None:
    path, _ = _broken_copy(tmp_path, 'pro_catg = "LINE_REFER_TABLE"\n  description', 'pro_catg = "LINE_LIST"\n  description')
    with pytest.raises(ConfigError, match="LINE_REFER_TABLE: has no match keys but is not a declared static"):
        load_association_file(path)


def test_products_that_need_each_other_are_refused(tmp_path: Path) -> None:
    path, _ = _broken_copy(
        tmp_path,
        '  products = ["MASTER_BIAS_BLUE"]\n',
        '  products = ["MASTER_BIAS_BLUE"]\n\n    [[rule_sets.raw_types.calibrations]]\n'
        '    pro_catg = "MASTER_FLAT_BLUE"\n    match = "detector"\n    validity_days = [-1.0, 1.0]\n',
    )
    with pytest.raises(ConfigError, match="cycle: .*BIAS_BLUE.*FLAT_BLUE"):
        load_association_file(path)


def test_a_window_that_does_not_contain_zero_is_refused(tmp_path: Path) -> None:
    path, _ = _broken_copy(tmp_path, "validity_days = [-7.0, 7.0]", "validity_days = [1.0, 7.0]")
    with pytest.raises(ConfigError, match=r"validity_days must be \[before <= 0, after >= 0\]"):
        load_association_file(path)
