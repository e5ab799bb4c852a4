"""ESO's own uves.oca, as installed with the pipeline, loads and classifies UVES frames."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from services.fetcher.classification import UNCLASSIFIED, Classifier, keywords_from_header
from services.fetcher.oca import OcaRules, load_oca
from shared.errors import ConfigError
from shared.pipeline_install import oca_rules_file

from .uves_headers import MASTER_BIAS_BLUE_PRODUCT, UVES_RAW_FRAMES, uves_frame


@pytest.fixture(scope="module")
def uves_rules() -> OcaRules:
    try:
        path = oca_rules_file()
    except ConfigError as error:
        pytest.skip(f"UVES pipeline not installed: {error}")
    return load_oca(path)


@pytest.fixture(scope="module")
def classifier(uves_rules: OcaRules) -> Classifier:
    return Classifier.from_rules(uves_rules)


def test_the_whole_real_file_parses(uves_rules: OcaRules) -> None:
    assert len(uves_rules.classification) > 300
    assert len(uves_rules.organisation) > 40
    assert {"UVES_MASTER_BIAS_B", "UVES_CAL_WAVECAL_R", "UVES_OBS_POINT_B"} <= uves_rules.actions.keys()


def test_the_real_file_links_organisation_to_actions_and_recipes(uves_rules: OcaRules) -> None:
    (bias,) = [rule for rule in uves_rules.organisation if rule.action == "UVES_MASTER_BIAS_B"]
    assert "BIAS_BLUE" in repr(bias.condition)
    wavecal = uves_rules.actions["UVES_CAL_WAVECAL_B"]
    assert wavecal.recipe is not None and wavecal.recipe.name == "uves_cal_wavecal"
    order_table = next(selection for selection in wavecal.selections if selection.tag == "ORDER_TABLE_BLUE")
    assert (order_table.file_set, order_table.count.minimum, order_table.count.maximum) == ("calibFiles", 1, 1)


@pytest.mark.parametrize("category", sorted(UVES_RAW_FRAMES))
def test_uves_raw_frames_get_their_category(classifier: Classifier, category: str) -> None:
    result = classifier.classify(UVES_RAW_FRAMES[category])
    assert result.category == category, result.reason


def test_the_rules_read_only_the_keywords_the_header_module_documents(classifier: Classifier) -> None:
    assert set(classifier.keywords_read) == {
        "DPR.CATG", "DPR.TYPE", "DPR.TECH", "DET.CHIPS", "INS.SLIT1.NAME", "PRO.CATG", "INSTRUME",
    }


def test_a_master_bias_product_is_classified_by_its_pro_catg(classifier: Classifier) -> None:
    assert classifier.classify(MASTER_BIAS_BLUE_PRODUCT).category == "MASTER_BIAS_BLUE"


def test_a_frame_without_dpr_catg_is_unclassified_and_says_why(classifier: Classifier) -> None:
    frame = uves_frame("BLUE", "CALIB", "BIAS", "IMAGE")
    del frame["DPR.CATG"]
    result = classifier.classify(frame)
    assert result.category == UNCLASSIFIED
    assert result.missing_keywords[0] == "DPR.CATG"
    assert "missing DPR.CATG" in result.reason


def test_a_frame_without_det_chips_is_unclassified(classifier: Classifier) -> None:
    frame = uves_frame("RED", "CALIB", "BIAS", "IMAGE")
    del frame["DET.CHIPS"]
    result = classifier.classify(frame)
    assert result.category == UNCLASSIFIED
    assert "DET.CHIPS" in result.missing_keywords


def test_a_red_arm_file_is_classified_from_its_primary_header(classifier: Classifier, tmp_path: Path) -> None:
    # Red-arm raw frames: an empty primary HDU with the DPR/DET/INS keywords, then REDU and REDL.
    primary = fits.PrimaryHDU()
    primary.header["INSTRUME"] = "UVES"
    for name, value in (("DPR CATG", "CALIB"), ("DPR TYPE", "BIAS"), ("DPR TECH", "IMAGE"), ("DET CHIPS", 2)):
        primary.header[f"HIERARCH ESO {name}"] = value
    chips = [fits.ImageHDU(np.zeros((4, 4), dtype=np.uint16), name=name) for name in ("REDU", "REDL")]
    path = tmp_path / "red_bias.fits"
    fits.HDUList([primary, *chips]).writeto(path)
    assert classifier.classify(keywords_from_header(fits.getheader(path, 0))).category == "BIAS_RED"
