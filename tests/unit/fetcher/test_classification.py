"""Classification semantics on small rule sets, and the header → keyword mapping."""

from collections.abc import Mapping

import pytest
from astropy.io import fits

from services.fetcher.classification import UNCLASSIFIED, Classification, Classifier, keywords_from_header
from services.fetcher.conditions import compile_condition
from services.fetcher.oca import parse_oca


def classify(rules: str, keywords: Mapping[str, object], cache_size: int = 4096) -> Classification:
    return Classifier(parse_oca(rules, "t.oca").classification, "t.oca", cache_size).classify(keywords)


def holds(condition: str, keywords: Mapping[str, object]) -> bool:
    return classify(f'if {condition} then {{ DO.CATG = "YES"; }}', keywords).category == "YES"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("N == 2", True),
        ("N != 2", False),
        ("N < 3", True),
        ("N > 3", False),
        ("N <= 2", True),
        ("N >= 2.5", False),
        ('S == "CALIB"', True),
        ('S != "CALIB"', False),
        ('S < "D"', True),
        ('S == "calib"', False),
    ],
)
def test_comparison_operators(condition: str, expected: bool) -> None:
    assert holds(condition, {"N": 2, "S": "CALIB"}) is expected


def test_numbers_compare_numerically_and_strings_that_read_as_numbers_too() -> None:
    assert holds("N == 2", {"N": 2.0})
    assert holds("N < 10", {"N": 9.5})
    assert holds("N == 2", {"N": "2"})
    assert not holds("N == 2", {"N": "two"})
    assert not holds('S < "10"', {"S": "9"})  # two strings: compared as text


def test_two_keywords_compare_with_each_other() -> None:
    assert holds("A == B", {"A": 1, "B": 1.0})
    assert not holds("A == B", {"A": 1, "B": 2})


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("%FLAT%", "LAMP,FLAT,ODD", True),
        ("%FLAT%", "LAMP,BIAS", False),
        ("LAMP%", "LAMP,FLAT", True),
        ("LAMP%", "FLAT,LAMP", False),
        ("%WAVE", "LAMP,WAVE", True),
        ("%WAVE", "WAVE,LAMP", False),
        ("LAMP%WAVE", "LAMP,ORDERDEF,WAVE", True),
        ("LAMP%WAVE", "LAMP,WAVE,X", False),
        ("%LAMP%WAVE%", "X,LAMP,Y,WAVE,Z", True),
        ("BIAS", "BIAS", True),
        ("BIAS", "BIAS,DETCHAR", False),
        ("%", "", True),
        ("%SLIC#%", "SLIC#3", True),
        ("%A.B%", "AxB", False),
        ("%TEST%", "test", False),
        ("%MASTER_BIAS%", "MASTERXBIAS", False),
    ],
)
def test_like_wildcards_at_start_middle_and_end(pattern: str, value: str, expected: bool) -> None:
    assert holds(f'V like "{pattern}"', {"V": value}) is expected


def test_like_matches_strings_only() -> None:
    assert not holds('N like "%2%"', {"N": 2})


def test_is_string() -> None:
    assert holds("V is string", {"V": "x"})
    assert holds("V is string", {"V": ""})
    assert not holds("V is string", {"V": 1})
    assert not holds("V is string", {})


def test_and_or_not_and_their_precedence() -> None:
    assert holds("A == 1 and B == 1", {"A": 1, "B": 1})
    assert not holds("A == 1 and B == 1", {"A": 1, "B": 0})
    assert holds("A == 1 or B == 1", {"A": 0, "B": 1})
    assert holds("not A == 1", {"A": 0})
    # `or` is weakest: A or (B and C)
    assert holds("A == 1 or B == 1 and C == 1", {"A": 1, "B": 0, "C": 0})
    # `not` binds tightest: (not A) and B
    assert not holds("not A == 1 and B == 1", {"A": 0, "B": 0})
    assert holds("not (A == 1 and B == 1)", {"A": 0, "B": 0})
    assert not holds("(A == 1 or B == 1) and C == 1", {"A": 1, "B": 0, "C": 0})


def test_later_true_rules_overwrite_earlier_ones_key_by_key() -> None:
    rules = """
    if T like "%LAMP%" then { DO.CATG = "LAMP"; RAW.TYPE = "L"; }
    if T like "%FLAT%" then { DO.CATG = "FLAT"; }
    if T like "%NEVER%" then { DO.CATG = "NEVER"; }
    """
    result = classify(rules, {"T": "LAMP,FLAT"})
    assert result.category == "FLAT"
    assert dict(result.assigned) == {"DO.CATG": "FLAT", "RAW.TYPE": "L"}
    assert result.matched_lines == (2, 3)
    assert result.reason == "DO.CATG set by t.oca:3"


def test_pro_catg_is_the_category_when_no_do_catg_is_assigned() -> None:
    result = classify('if A == 1 then { PRO.CATG = "MASTER_X"; }', {"A": 1})
    assert result.category == "MASTER_X"


def test_a_file_no_rule_matches_is_unclassified() -> None:
    result = classify('if A == 1 then { DO.CATG = "X"; }', {"A": 2})
    assert result.category == UNCLASSIFIED
    assert not result.is_classified
    assert result.reason == "no rule matched"


def test_matching_rules_that_set_no_category_leave_the_file_unclassified() -> None:
    result = classify('if A == 1 then { RAW.TYPE = "R"; }', {"A": 1})
    assert result.category == UNCLASSIFIED
    assert result.assigned == {"RAW.TYPE": "R"}
    assert result.reason == "rules at t.oca lines 1 matched but set no DO.CATG or PRO.CATG"


def test_a_missing_keyword_makes_comparisons_false_and_is_reported() -> None:
    rules = """
    if DPR.CATG == "CALIB" then { DO.CATG = "A"; }
    if DPR.CATG != "CALIB" then { DO.CATG = "B"; }
    if DPR.CATG like "%" then { DO.CATG = "C"; }
    if PRO.CATG == "P" or DET.CHIPS > 0 then { DO.CATG = "D"; }
    """
    result = classify(rules, {"OTHER": 1})
    assert result.category == UNCLASSIFIED
    assert result.missing_keywords == ("DPR.CATG", "PRO.CATG", "DET.CHIPS")
    assert f"{result.category}: {result.reason}" == "UNCLASSIFIED: no rule matched; missing DPR.CATG, PRO.CATG, DET.CHIPS"


def test_not_of_a_missing_keyword_comparison_is_true() -> None:
    assert holds('not DPR.CATG == "CALIB"', {})


def test_keywords_short_circuited_away_are_not_reported_missing() -> None:
    result = classify('if A == 1 and B == 1 then { DO.CATG = "X"; }', {"A": 2})
    assert result.missing_keywords == ()


@pytest.mark.parametrize("cache_size", [0, 1, 4096])
def test_results_do_not_depend_on_the_cache(cache_size: int) -> None:
    rules = 'if A == 1 then { DO.CATG = "ONE"; }\nif A == "x" then { DO.CATG = "X"; }'
    classifier = Classifier(parse_oca(rules, "t.oca").classification, "t.oca", cache_size)
    for _ in range(3):
        assert classifier.classify({"A": 1}).category == "ONE"
        assert classifier.classify({"A": "x"}).category == "X"
        assert classifier.classify({}).category == UNCLASSIFIED
        assert classifier.classify({"A": [1]}).category == UNCLASSIFIED  # unhashable: not cached


def test_association_conditions_read_the_input_file_through_input_file_keywords() -> None:
    rules = parse_oca(
        """
        action A {
          select file as MASTER_BIAS from calibFiles where PRO.CATG == "MASTER_BIAS"
            and inputFile.DET.WIN1.BINX == DET.WIN1.BINX;
          recipe r;
        }
        """
    )
    matches = compile_condition(rules.actions["A"].selections[0].condition)
    candidate = {"PRO.CATG": "MASTER_BIAS", "DET.WIN1.BINX": 2}
    missing: list[str] = []
    assert matches(candidate, {"DET.WIN1.BINX": 2}, missing)
    assert not matches(candidate, {"DET.WIN1.BINX": 1}, missing)
    assert not matches(candidate, {}, missing)
    assert missing == ["inputFile.DET.WIN1.BINX"]


def test_keywords_from_header_uses_oca_names() -> None:
    header = fits.Header()
    header["HIERARCH ESO DPR CATG"] = "CALIB"
    header["HIERARCH ESO DET CHIPS"] = 2
    header["HIERARCH ESO INS SLIT1 NAME"] = "FREE"
    header["MJD-OBS"] = 57076.96668
    header["EXPTIME"] = 0.0
    header["SIMPLE"] = True
    header["EMPTY"] = None
    header["COMMENT"] = "a comment"
    header["HISTORY"] = "a history"
    assert keywords_from_header(header) == {
        "DPR.CATG": "CALIB",
        "DET.CHIPS": 2,
        "INS.SLIT1.NAME": "FREE",
        "MJD-OBS": 57076.96668,
        "EXPTIME": 0.0,
        "SIMPLE": True,
    }
