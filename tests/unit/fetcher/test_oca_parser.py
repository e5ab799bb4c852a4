"""The OCA parser on small snippets: tree shapes, statements of every kind, error messages."""

from pathlib import Path

import pytest

from services.fetcher.oca import (
    And,
    Assignment,
    Comparison,
    Constant,
    FileCount,
    IsString,
    Keyword,
    Like,
    Not,
    Or,
    load_oca,
    parse_oca,
)
from shared.errors import ConfigError


def condition_of(text: str):
    return parse_oca(f'if {text} then {{ DO.CATG = "X"; }}').classification[0].condition


def eq(name: str, value: object) -> Comparison:
    return Comparison(Keyword(name), "==", Constant(value))


def test_a_classification_rule_keeps_condition_assignments_and_line() -> None:
    rules = parse_oca('\n\nif DPR.CATG == "BIAS" then\n{\n  DO.CATG = "BIAS_BLUE"; RAW.TYPE = "B";}\n')
    (rule,) = rules.classification
    assert rule.line == 3
    assert rule.condition == eq("DPR.CATG", "BIAS")
    assert rule.assignments == (Assignment("DO.CATG", "BIAS_BLUE"), Assignment("RAW.TYPE", "B"))


@pytest.mark.parametrize("operator", ["==", "!=", "<", ">", "<=", ">="])
def test_every_comparison_operator_parses(operator: str) -> None:
    assert condition_of(f"DET.CHIPS {operator} 2") == Comparison(Keyword("DET.CHIPS"), operator, Constant(2))


def test_literals_keep_their_type() -> None:
    assert condition_of('A == "1"').right == Constant("1")
    assert condition_of("A == 1").right == Constant(1)
    assert condition_of("A == 1.5").right == Constant(1.5)
    assert condition_of("A > -0.25").right == Constant(-0.25)


def test_like_and_is_string_parse() -> None:
    assert condition_of('DPR.TYPE like "%LAMP,FLAT%"') == Like(Keyword("DPR.TYPE"), "%LAMP,FLAT%")
    assert condition_of("OBJECT is string") == IsString(Keyword("OBJECT"))


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    a, b, c = eq("A", 1), eq("B", 1), eq("C", 1)
    assert condition_of("A == 1 or B == 1 and C == 1") == Or((a, And((b, c))))
    assert condition_of("not A == 1 and B == 1") == And((Not(a), b))
    assert condition_of("not A == 1 or not B == 1 and C == 1") == Or((Not(a), And((Not(b), c))))


def test_parentheses_override_precedence() -> None:
    a, b, c = eq("A", 1), eq("B", 1), eq("C", 1)
    assert condition_of("(A == 1 or B == 1) and C == 1") == And((Or((a, b)), c))
    assert condition_of("not (A == 1 and B == 1)") == Not(And((a, b)))


def test_plain_hyphenated_and_input_file_keywords() -> None:
    assert condition_of("MJD-OBS < inputFile.MJD-OBS") == Comparison(
        Keyword("MJD-OBS"), "<", Keyword("MJD-OBS", of_input_file=True)
    )


def test_comments_are_ignored() -> None:
    rules = parse_oca(
        '// classification\nif A == 1 /* inline */ then { DO.CATG = "X"; } // trailing\n/* block\n over lines */'
    )
    assert rules.classification[0].condition == eq("A", 1)


ORGANISATION_AND_ASSOCIATION = """
select execute(UVES_MASTER_BIAS_B) from inputFiles where SIG.TEMPLATE == 1 and DO.CATG == "BIAS_BLUE";
minRet = 3;
select execute(FIBRE_FLATS) from inputFiles where
RAW.TYPE=="FFLAT_MOS_RED" group by DET.WIN1.BINX,TPL.START as (TPL_A,tpl);

action UVES_MASTER_BIAS_B
{
recipe uves_cal_mkmaster;
}

action FIBRE_FLATS
{
  minRet = 1; maxRet = 1;
  select file as MASTER_BIAS_REDL from calibFiles where DO.CATG == "MASTER_BIAS_REDL"
     and inputFile.DET.WIN1.BINX==DET.WIN1.BINX;
  maxRet = 2;
  select file as ACQ from rawFiles where RAW.TYPE=="ACQ_ECH"
  ;
  recipe flames_cal_mkmaster
  {
  "--paccuracy=70";
  "--exts=-1";
  }
  product MASTER_FLAT { PRO.CATG = "MASTER_FLAT"; PRO.EXT = "tpl_0000.fits"; }
}
"""


def test_organisation_rules_keep_action_condition_grouping_and_counts() -> None:
    bias, fibre = parse_oca(ORGANISATION_AND_ASSOCIATION).organisation
    assert (bias.action, bias.file_set, bias.group_by, bias.count) == (
        "UVES_MASTER_BIAS_B", "inputFiles", (), FileCount()
    )
    assert bias.condition == And((eq("SIG.TEMPLATE", 1), eq("DO.CATG", "BIAS_BLUE")))
    assert fibre.group_by == ("DET.WIN1.BINX", "TPL.START")
    assert fibre.group_alias == ("TPL_A", "tpl")
    assert fibre.count == FileCount(minimum=3)
    assert fibre.line == 4


def test_actions_keep_selections_recipe_parameters_and_products() -> None:
    action = parse_oca(ORGANISATION_AND_ASSOCIATION).actions["FIBRE_FLATS"]
    bias, acquisition = action.selections
    assert (bias.tag, bias.file_set, bias.count) == ("MASTER_BIAS_REDL", "calibFiles", FileCount(1, 1))
    assert bias.condition == And(
        (
            eq("DO.CATG", "MASTER_BIAS_REDL"),
            Comparison(Keyword("DET.WIN1.BINX", of_input_file=True), "==", Keyword("DET.WIN1.BINX")),
        )
    )
    assert (acquisition.tag, acquisition.file_set, acquisition.count) == ("ACQ", "rawFiles", FileCount(None, 2))
    assert action.recipe is not None
    assert (action.recipe.name, action.recipe.parameters) == ("flames_cal_mkmaster", ("--paccuracy=70", "--exts=-1"))
    (product,) = action.products
    assert product.name == "MASTER_FLAT"
    assert product.assignments == (Assignment("PRO.CATG", "MASTER_FLAT"), Assignment("PRO.EXT", "tpl_0000.fits"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('if (DPR.CATG == "X" then { DO.CATG = "Y"; }', "t.oca:1:21: expected ')' but found 'then'"),
        ('if A == 1 then {\n  DO.CATG = "Y"\n}', "t.oca:3:1: expected ';' but found '}'"),
        ("if A == 1 then {", "t.oca:1:17: expected a keyword to assign or '}' but found end of file"),
        ('if A then { DO.CATG = "Y"; }', "t.oca:1:6: expected a comparison"),
        ('if A == then { DO.CATG = "Y"; }', "t.oca:1:9: expected a keyword, a quoted string or a number but found 'then'"),
        ('if "A" like "%A%" then { DO.CATG = "Y"; }', "t.oca:1:8: 'like' needs a keyword on its left"),
        ('if A like B then { DO.CATG = "Y"; }', "t.oca:1:11: expected a quoted pattern after 'like' but found 'B'"),
        ('\nif A == "open then', "t.oca:2:9: unterminated string"),
        ("if A == 1 @", "t.oca:1:11: unexpected character '@'"),
        ("/* never closed", "t.oca:1:1: unterminated comment"),
        ("then", "t.oca:1:1: expected 'if', 'select', 'action', 'minRet' or 'maxRet' but found 'then'"),
        ("minRet = 1.5;", "t.oca:1:10: expected a whole number but found '1.5'"),
        ("select execute(A) from someFiles where B == 1;", "t.oca:1:24: expected one of calibFiles, inputFiles"),
        ("select execute(NOPE) from inputFiles where B == 1;", "t.oca:1: execute(NOPE) names no action"),
        ("action A { recipe r; }\naction A { recipe r; }", "t.oca:2: action A is already defined at line 1"),
        ("action A { recipe r }", "t.oca:1:21: expected ';' but found '}'"),
    ],
)
def test_syntax_errors_name_file_line_column_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_oca(text, "t.oca")
    assert str(raised.value).startswith(message)


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read OCA rules"):
        load_oca(tmp_path / "missing.oca")
