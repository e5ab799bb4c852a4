"""recipes.toml: the real file loads, a broken one names its line, junk gates say what was found."""

from __future__ import annotations

from datetime import date

import pytest

from services.processor.recipes import JunkGate, RecipeCatalogue, load_recipes, parameter_set_for
from shared.contracts import AssociationBlock, ProcessingMode, ProductKind, RawFrame
from shared.errors import ConfigError, DataError
from shared.instruments import INSTRUMENTS_DIR, load_toml_model

MCALIB_CHAIN = ["uves_cal_mbias", "uves_cal_predict", "uves_cal_orderpos", "uves_cal_mflat", "uves_cal_wavecal"]


@pytest.fixture(scope="module")
def uves() -> RecipeCatalogue:
    return load_recipes("UVES_ECHELLE")


def test_the_uves_recipes_load_with_both_parameter_sets(uves):
    for name in [*MCALIB_CHAIN, "uves_cal_mdark", "uves_obs_scired"]:
        recipe = uves.recipe(name)
        assert set(recipe.parameters) >= {"IDP", "MCALIB"}
        assert set(recipe.expected) == {"BLUE", "RED"}
    assert uves.recipe("uves_obs_scired").esorex_parameters("IDP")["reduce.extract.method"] == "optimal"
    assert uves.recipe("uves_obs_scired").esorex_parameters("IDP")["reduce.skysub"] == "TRUE"


def test_master_calibrations_and_science_products_are_told_apart(uves):
    assert uves.recipe("uves_cal_mflat").kind_of("MASTER_FLAT_REDL") is ProductKind.MCALIB
    assert uves.recipe("uves_cal_mflat").kind_of("BKG_FLAT_REDL") is ProductKind.PIPELINE
    scired = uves.recipe("uves_obs_scired")
    assert scired.kind_of("MERGED_SCI_POINT_BLUE") is ProductKind.PIPELINE
    assert scired.kind_of("ERRORBAR_SCI_POINT_REDU") is ProductKind.PIPELINE
    assert scired.kind_of("MERGED_SKY_BLUE") is None and scired.kind_of("ERRORBAR_WCALIB_FF_SCI_POINT_BLUE") is None


def test_a_broken_recipes_file_names_its_line(tmp_path):
    text = (INSTRUMENTS_DIR / "uves_echelle" / "recipes.toml").read_text()
    broken = text.replace('"extract.method" = "average"\nminlines = 0', '"extract.method" = "average"\nminlines = [0]', 1)
    assert broken != text
    path = tmp_path / "recipes.toml"
    path.write_text(broken)
    line = broken.splitlines().index("minlines = [0]") + 1
    with pytest.raises(ConfigError, match=rf"recipes.toml:{line}: recipes.uves_cal_wavecal.parameters.IDP.minlines"):
        load_toml_model(path, RecipeCatalogue)


def test_a_recipe_without_an_mcalib_set_is_refused(tmp_path):
    path = tmp_path / "recipes.toml"
    path.write_text(
        'instrument_mode = "X"\n[recipes.r]\nraw_tags = ["BIAS_BLUE"]\n'
        "[recipes.r.parameters.IDP]\n[recipes.r.expected]\nBLUE = []\n[recipes.r.deliver]\n"
    )
    with pytest.raises(ConfigError, match=r"recipes.toml:2: recipes.r: Value error, parameter sets MCALIB missing"):
        load_toml_model(path, RecipeCatalogue)


def test_a_toml_syntax_error_names_its_line(tmp_path):
    path = tmp_path / "recipes.toml"
    path.write_text('instrument_mode = "X"\n[recipes.r\n')
    with pytest.raises(ConfigError, match=r"line 2"):
        load_toml_model(path, RecipeCatalogue)


@pytest.mark.parametrize(
    ("recipe", "arm", "products", "reason"),
    [
        ("uves_cal_wavecal", "BLUE", {"LINE_TABLE_BLUE": {"QC.NLINSOL": 3}},
         "uves_cal_wavecal LINE_TABLE_BLUE found 3 lines, at least 100 expected"),
        ("uves_cal_orderpos", "BLUE", {"ORDER_TABLE_BLUE": {"QC.ORD.NDET": 0, "QC.ORD.NPRED": 39}},
         "uves_cal_orderpos ORDER_TABLE_BLUE found 0 orders detected, at least 1 expected"),
        ("uves_cal_predict", "BLUE", {"LINE_GUESS_TAB_BLUE": {"QC.MODEL.NLINSEL": 465, "QC.MODEL.NLINALL": 1382},
                                      "ORDER_GUESS_TAB_BLUE": {}},
         "uves_cal_predict LINE_GUESS_TAB_BLUE found 0.336 fraction of model lines matched, at least 0.5 expected"),
        ("uves_cal_mbias", "RED", {"MASTER_BIAS_REDL": {"QC.OUT4.RON.RAW": 2.5}, "MASTER_BIAS_REDU": {"QC.OUT1.RON.RAW": 0.0}},
         "uves_cal_mbias MASTER_BIAS_REDU found 0 raw read noise [ADU], at least 0.05 expected"),
        ("uves_obs_scired", "BLUE", {"MERGED_SCI_POINT_BLUE": {"QC.ORD1.OBJ.SN": 0.2, "QC.ORD2.OBJ.SN": 0.4},
                                     "ERRORBAR_SCI_POINT_BLUE": {}},
         "uves_obs_scired MERGED_SCI_POINT_BLUE found 0.4 best order S/N, at least 1 expected"),
        ("uves_cal_mflat", "RED", {"MASTER_FLAT_REDL": {}, "BKG_FLAT_REDL": {}, "BKG_FLAT_REDU": {}},
         "uves_cal_mflat exited 0 but wrote no MASTER_FLAT_REDU product"),
        ("uves_cal_wavecal", "BLUE", {"LINE_TABLE_BLUE": {"QC.DID": "UVES-1.14"}},
         "uves_cal_wavecal LINE_TABLE_BLUE: no QC.NLINSOL in the product, so no lines can be checked"),
    ],
)
def test_junk_gates_say_what_was_found(uves, recipe, arm, products, reason):
    assert reason in uves.recipe(recipe).junk_reasons(recipe, arm, products)


@pytest.mark.parametrize(
    ("recipe", "arm", "products"),
    [
        ("uves_cal_wavecal", "BLUE", {"LINE_TABLE_BLUE": {"QC.NLINSOL": 467}}),
        ("uves_cal_orderpos", "RED", {"ORDER_TABLE_REDL": {"QC.ORD.NDET": 23, "QC.ORD.NPRED": 23},
                                      "ORDER_TABLE_REDU": {"QC.ORD.NDET": 15, "QC.ORD.NPRED": 15}}),
        ("uves_cal_predict", "BLUE", {"LINE_GUESS_TAB_BLUE": {"QC.MODEL.NLINSEL": 1253, "QC.MODEL.NLINALL": 1383},
                                      "ORDER_GUESS_TAB_BLUE": {}}),
    ],
)
def test_good_products_pass_the_gates(uves, recipe, arm, products):
    assert uves.recipe(recipe).junk_reasons(recipe, arm, products) == []


def test_a_gate_divides_safely():
    gate = JunkGate(products="X", qc="QC.A", per="QC.B", min=0.5, found="fraction")
    assert gate.violation("r", "X", {"QC.A": 3, "QC.B": 0}) == "r X: QC.B is 0, so no fraction can be computed"


def test_a_gate_needs_a_bound():
    with pytest.raises(ValueError, match="min or max"):
        JunkGate(products="X", qc="QC.A", found="things")


def block(mode: ProcessingMode, dpr_catg: str, parameter_set: str = "") -> AssociationBlock:
    return AssociationBlock(
        ab_id="x", ab_name="x", instrument="UVES", instrument_mode="UVES_ECHELLE", night=date(2024, 3, 1), mode=mode,
        dpr_catg=dpr_catg, raw_type="BIAS_BLUE", recipe="uves_cal_mbias", mjd_obs=0, mjd_obs_mod=0,
        raw_files=[RawFrame(arcfile="a", category="BIAS_BLUE", mjd_obs=0)], parameter_set=parameter_set,
    )


@pytest.mark.parametrize(
    ("ab", "expected"),
    [
        (block(ProcessingMode.IDP, "CALIB"), "IDP"),
        (block(ProcessingMode.MCALIB, "CALIB"), "MCALIB"),
        (block(ProcessingMode.COMPLETE, "SCIENCE"), "IDP"),
        (block(ProcessingMode.COMPLETE, "CALIB"), "MCALIB"),
        (block(ProcessingMode.IDP, "SCIENCE", parameter_set="MCALIB"), "MCALIB"),
    ],
)
def test_the_parameter_set_follows_the_ab(ab, expected):
    assert parameter_set_for(ab) == expected


def test_an_unknown_parameter_set_is_a_data_error(uves):
    with pytest.raises(DataError, match="no parameter set 'FAST'"):
        uves.recipe("uves_cal_mbias").esorex_parameters("FAST")
