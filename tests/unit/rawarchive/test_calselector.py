"""calSelector answers parsed with our own parser: ESO's real recorded bytes (see tests/data/eso)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import DataError
from shared.rawarchive.calselector import RAW2RAW, parse_association_tree, parse_associations

DATA = Path(__file__).resolve().parents[2] / "data" / "eso"
SINGLE = DATA / "FORS2.2021-01-02T00_59_12.533_raw2raw.xml"
MULTIPART = DATA / "FORS2.2021-01-02T00_59_12.533_raw2raw_multipart.xml"
MULTIPART_TYPE = "multipart/form-data; boundary=uFQlfs9nBIDEAIoz0_ZM-O2SXKsZ2iSd4h7H;charset=UTF-8"
DATASET = "FORS2.2021-01-02T00:59:12.533"


def test_a_single_real_tree_names_its_science_frame_and_every_calibration_once() -> None:
    [tree] = parse_associations(SINGLE.read_bytes(), "application/xml; content=calselector")
    assert (tree.category, tree.mode, tree.certified, tree.complete) == ("SCI_IMG_2x2_low", RAW2RAW, True, True)
    assert [(f.dp_id, f.category) for f in tree.main_files] == [(DATASET, "SCIENCE_IMG")]
    calibrations = tree.calibration_files()
    # astroquery's own test of this answer counts 50 associated files besides the dataset
    assert len(calibrations) == 50
    assert DATASET not in {f.dp_id for f in calibrations}
    assert {"FLAT_SKY", "STD_IMA"} <= {child.category for child in tree.associated}
    biases = [f for f in calibrations if f.category == "BIAS"]
    assert len(biases) >= 20 and all(f.dp_id.startswith("FORS2.") for f in biases)


def test_a_real_tree_also_names_certified_masters_by_their_m_dp_id() -> None:
    tree = parse_association_tree(SINGLE.read_bytes())
    masters = [f for f in tree.files() if f.dp_id.startswith("M.")]
    assert ("M.FORS2.2015-08-05T11:20:17.466", "FLX_STD_IMG") in {(f.dp_id, f.category) for f in masters}


def test_a_real_multipart_answer_holds_one_tree_per_dataset() -> None:
    trees = parse_associations(MULTIPART.read_bytes(), MULTIPART_TYPE)
    assert [tree.main_files[0].dp_id for tree in trees] == ["FORS2.2021-01-02T00:59:12.534", DATASET]
    union = {f.dp_id for tree in trees for f in tree.files()} - {"FORS2.2021-01-02T00:59:12.534", DATASET}
    assert len(union) == 99  # as astroquery's test of the same answer


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"<html>oops</html>", "text/html", "expected application/xml"),
        (b"not xml", "application/xml", "not XML"),
        (b"<votable/>", "application/xml", "expected <association>"),
        (b"no parts here", "multipart/form-data; boundary=zzz", "no parts"),
    ],
)
def test_answers_that_are_not_association_trees_are_named_data_errors(content, content_type, message) -> None:
    with pytest.raises(DataError, match=message):
        parse_associations(content, content_type)
